"""The fine-tuned transformer: one encoder, two heads (stance, sentiment), one forward pass.

The input is the pair (target, sentence [+ context]) laid out by ``model.encoding``, so the encoder
reads the target before the sentence and stance can depend on it; sentiment shares the same pass.
Pooling is the attention-masked mean of the last hidden states, as all-MiniLM-L6-v2 was trained
with (sentence-transformers).

Loaded in bf16 (runtime ``torch-bf16``) the same weights run on the CPU's bf16 matrix units (Intel
AMX); the heads' logits come back as fp32, and training's parity gate decides whether that copy
agrees with fp32 closely enough to serve.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoConfig, AutoModel, AutoTokenizer, PreTrainedTokenizerBase

from model.artifact import ArtifactConfig
from model.encoding import PairEncoder, length_batches
from model.labels import SENTIMENT_LABELS, STANCE_LABELS
from model.predictor import CalibratedMixin, Contexts, FloatArray, Temperatures

logger = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"
ENCODER_DIR = "encoder"
TOKENIZER_DIR = "tokenizer"


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Average the token vectors of ``hidden`` where ``mask`` is 1."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


class DualHeadModel(nn.Module):
    """A pretrained encoder with a stance head and a sentiment head on the pooled output.

    Inference only: the training loss (weights, class balance, distillation) is
    ``training.finetune``'s.
    """

    def __init__(self, encoder: nn.Module, hidden_size: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.stance_head = nn.Linear(hidden_size, len(STANCE_LABELS))
        self.sentiment_head = nn.Linear(hidden_size, len(SENTIMENT_LABELS))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """Return both tasks' logits."""
        kwargs: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**kwargs).last_hidden_state
        pooled = self.dropout(mean_pool(hidden, attention_mask))
        return {
            "stance_logits": self.stance_head(pooled),
            "sentiment_logits": self.sentiment_head(pooled),
        }


def build_model(base_model: str | Path, dropout: float = 0.1) -> DualHeadModel:
    """Load a pretrained encoder from a local HF folder and put fresh heads on it."""
    path = Path(base_model)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"base model {base_model} is not a local Hugging Face model folder (no config.json); "
            "name a folder holding config.json, weights and tokenizer files"
        )
    encoder = AutoModel.from_pretrained(str(path))
    return DualHeadModel(encoder, int(encoder.config.hidden_size), dropout=dropout)


class TransformerClassifier(CalibratedMixin):
    """The fine-tuned dual-head transformer behind the Classifier contract."""

    backend = "transformer"

    def __init__(
        self,
        model: DualHeadModel,
        tokenizer: PreTrainedTokenizerBase,
        config: ArtifactConfig,
        device: str = "cpu",
        batch_size: int = 32,
        dtype: torch.dtype = torch.float32,
        directory: Path | None = None,
    ) -> None:
        self.model = model.to(device=device, dtype=dtype).eval()
        self.dtype = dtype
        self.runtime = "torch-bf16" if dtype == torch.bfloat16 else "torch"
        self.directory = directory  # the artifact a reduced-precision copy was loaded from
        self.tokenizer = tokenizer
        self.config = config
        self.pairs = PairEncoder(
            tokenizer, config.max_length, config.use_context, config.target_template
        )
        self.device = device
        self.batch_size = batch_size
        self.temperatures: Temperatures = config.temperatures

    def windows(self, text: str, target: str) -> list[str]:
        """The text when it fits beside the target, else overlapping token windows of it."""
        return self.pairs.windows(text, target)

    @torch.inference_mode()
    def logits(
        self, texts: Sequence[str], targets: Sequence[str], contexts: Contexts = None
    ) -> dict[str, FloatArray]:
        """Return raw logits for both tasks, batching by length for speed."""
        contexts = contexts if contexts is not None else [None] * len(texts)
        stance = np.zeros((len(texts), len(STANCE_LABELS)))
        sentiment = np.zeros((len(texts), len(SENTIMENT_LABELS)))
        for idx in length_batches(self.pairs.lengths(texts, contexts), self.batch_size):
            batch = self.pairs.encode(
                [texts[i] for i in idx],
                [targets[i] for i in idx],
                [contexts[i] for i in idx],
                return_tensors="pt",
            )
            out = self.model(**{k: v.to(self.device) for k, v in batch.items()})
            stance[idx] = out["stance_logits"].float().cpu().numpy()
            sentiment[idx] = out["sentiment_logits"].float().cpu().numpy()
        return {"stance": stance, "sentiment": sentiment}

    def save(self, directory: Path) -> None:
        """Write weights (safetensors), encoder config, tokenizer and config.json.

        A reduced-precision copy saves the fp32 artifact it was loaded from (weights rounded to
        bf16 are never written back), with its current config.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.temperatures = self.temperatures
        if self.dtype != torch.float32:
            if self.directory is None:
                raise ValueError("a bf16 copy without its fp32 artifact can't be saved")
            if directory.resolve() != self.directory.resolve():
                shutil.copytree(self.directory, directory, dirs_exist_ok=True)
            self.config.write(directory)
            return
        self.config.write(directory)
        state = {k: v.detach().contiguous().cpu() for k, v in self.model.state_dict().items()}
        save_file(state, str(directory / WEIGHTS_FILE))
        self.model.encoder.config.save_pretrained(  # type: ignore[union-attr,operator]
            str(directory / ENCODER_DIR)
        )
        self.tokenizer.save_pretrained(str(directory / TOKENIZER_DIR))

    @classmethod
    def load(
        cls, directory: Path, device: str = "cpu", dtype: torch.dtype = torch.float32
    ) -> TransformerClassifier:
        """Read an artifact written by ``save``; ``dtype`` bf16 gives the ``torch-bf16`` copy."""
        directory = Path(directory)
        config = ArtifactConfig.read(directory)
        weights = directory / WEIGHTS_FILE
        if not weights.is_file():
            raise FileNotFoundError(
                f"transformer artifact {directory} has no {WEIGHTS_FILE}; retrain with "
                "`stance train`"
            )
        encoder_config = AutoConfig.from_pretrained(str(directory / ENCODER_DIR))
        encoder = AutoModel.from_config(encoder_config)  # type: ignore[no-untyped-call]
        model = DualHeadModel(encoder, int(encoder_config.hidden_size))
        try:
            model.load_state_dict(load_file(str(weights)))
        except Exception as exc:  # safetensors raises several types for a damaged file
            raise ValueError(f"corrupt transformer weights {weights}: {exc}") from exc
        tokenizer = AutoTokenizer.from_pretrained(str(directory / TOKENIZER_DIR))
        return cls(model, tokenizer, config, device=device, dtype=dtype, directory=directory)
