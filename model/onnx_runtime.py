"""ONNX Runtime inference for the transformer artifact (fp32 or dynamically quantised int8).

The ONNX graph (written by ``training.export``) maps token ids to both heads' logits; tokenizer,
calibration temperatures and labels come from the same artifact folder, so outputs match the
torch path up to quantisation error.

int8 with a recheck margin is a cascade: every item runs through the int8 graph, and the items
whose calibrated top-two probabilities (in either task) are closer than the margin run again in
fp32, whose answer replaces the int8 one. Quantisation error flips labels only near the decision
boundary, so this keeps int8's speed on confident items and fp32's labels on close calls. Training
picks the smallest margin that reaches the parity target on validation (``training.export``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from transformers import AutoTokenizer

from model.artifact import ArtifactConfig
from model.encoding import PairEncoder, length_batches
from model.predictor import CalibratedMixin, Contexts, FloatArray, Temperatures, softmax

RUNTIMES = {"onnx-fp32": "model.onnx", "onnx-int8": "model.int8.onnx"}


def top_two_margin(logits: dict[str, FloatArray], temperatures: Temperatures) -> FloatArray:
    """Per item, the smallest gap between the top two calibrated probabilities over both tasks."""
    gaps = []
    for task, z in logits.items():
        p = np.sort(softmax(z, getattr(temperatures, task)), axis=1)
        gaps.append(p[:, -1] - p[:, -2])
    return np.min(gaps, axis=0)  # type: ignore[no-any-return]


def _session(path: Path, threads: int | None = None, spin: bool = False) -> Any:
    """An ONNX Runtime CPU session: one inter-op thread and ``threads`` (all cores) in each op."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    if not spin:
        # Idle intra-op threads spin by default; on a 2-core box they then take the cores from
        # the other session of the int8 cascade and from the HTTP event loop.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxClassifier(CalibratedMixin):
    """The transformer artifact run by ONNX Runtime on CPU."""

    backend = "transformer"

    def __init__(
        self,
        directory: Path,
        runtime: str = "onnx-int8",
        batch_size: int = 32,
        recheck_margin: float | None = None,
        threads: int | None = None,
        spin: bool = False,
    ) -> None:
        if runtime not in RUNTIMES:
            raise ValueError(
                f"unknown ONNX runtime {runtime!r}: expected one of {sorted(RUNTIMES)}"
            )
        directory = Path(directory)
        path = directory / RUNTIMES[runtime]
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: export it with `stance export --model {directory}`"
            )
        self.config = ArtifactConfig.read(directory)
        self.temperatures: Temperatures = self.config.temperatures
        self.tokenizer = AutoTokenizer.from_pretrained(str(directory / "tokenizer"))
        self.pairs = PairEncoder(
            self.tokenizer,
            self.config.max_length,
            self.config.use_context,
            self.config.target_template,
        )
        self.runtime = runtime
        self.directory = directory
        self.batch_size = batch_size
        self.session = _session(path, threads, spin)
        self.input_names = {i.name for i in self.session.get_inputs()}
        if recheck_margin is None:  # the margin training chose
            recheck_margin = self.config.recheck_margin
        if not 0 <= recheck_margin <= 1:
            raise ValueError(f"recheck margin must be within [0, 1], got {recheck_margin}")
        self.recheck_margin = recheck_margin if runtime == "onnx-int8" else 0.0
        self.fp32_session = (
            _session(directory / RUNTIMES["onnx-fp32"], threads, spin)
            if self.recheck_margin > 0
            else None
        )
        self.items_seen = 0
        self.items_rechecked = 0

    def windows(self, text: str, target: str) -> list[str]:
        """The text when it fits beside the target, else overlapping token windows of it."""
        return self.pairs.windows(text, target)

    def logits(
        self, texts: Sequence[str], targets: Sequence[str], contexts: Contexts = None
    ) -> dict[str, FloatArray]:
        """Return raw logits for both tasks; close int8 calls are recomputed in fp32."""
        contexts = list(contexts) if contexts is not None else [None] * len(texts)
        out = self._run(self.session, texts, targets, contexts)
        self.items_seen += len(texts)
        if self.fp32_session is None or not len(texts):
            return out
        redo = np.flatnonzero(top_two_margin(out, self.temperatures) < self.recheck_margin).tolist()
        if redo:
            exact = self._run(
                self.fp32_session,
                [texts[i] for i in redo],
                [targets[i] for i in redo],
                [contexts[i] for i in redo],
            )
            for task in out:
                out[task][redo] = exact[task]
            self.items_rechecked += len(redo)
        return out

    def _run(
        self,
        session: Any,
        texts: Sequence[str],
        targets: Sequence[str],
        contexts: Sequence[str | None],
    ) -> dict[str, FloatArray]:
        """Logits of ``session`` for both tasks, batching by length."""
        stance = np.zeros((len(texts), 3))
        sentiment = np.zeros((len(texts), 3))
        for idx in length_batches(self.pairs.lengths(texts, contexts), self.batch_size):
            batch = self.pairs.encode(
                [texts[i] for i in idx],
                [targets[i] for i in idx],
                [contexts[i] for i in idx],
                return_tensors="np",
            )
            feeds = {k: v.astype(np.int64) for k, v in batch.items() if k in self.input_names}
            s, m = session.run(["stance_logits", "sentiment_logits"], feeds)
            stance[idx], sentiment[idx] = s, m
        return {"stance": stance, "sentiment": sentiment}

    def save(self, directory: Path) -> None:
        """Copy the artifact folder (weights, ONNX files, tokenizer) and write its config.json."""
        directory = Path(directory)
        if directory.resolve() != self.directory.resolve():
            shutil.copytree(self.directory, directory, dirs_exist_ok=True)
        self.config.temperatures = self.temperatures
        self.config.write(directory)
