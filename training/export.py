"""Export the transformer artifact to ONNX and quantise it to int8 (ONNX Runtime dynamic).

Also the int8 parity check against torch fp32, and the choice of the int8 recheck margin (see
``model.onnx_runtime``) on validation items.

Example:
    stance export --model stance-classifier:latest
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from model.onnx_runtime import RUNTIMES, OnnxClassifier, top_two_margin
from model.transformer import TransformerClassifier

# Candidate recheck margins, smallest first: the first that reaches the parity target wins.
RECHECK_MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)

logger = logging.getLogger(__name__)


class _Heads(nn.Module):
    """Positional-argument wrapper so the exported graph has named inputs and outputs."""

    def __init__(self, clf: TransformerClassifier) -> None:
        super().__init__()
        self.model = clf.model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(input_ids, attention_mask, token_type_ids)
        return out["stance_logits"], out["sentiment_logits"]


def export_onnx(directory: Path, quantize: bool = True) -> list[Path]:
    """Write model.onnx (fp32) and model.int8.onnx next to the transformer weights."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    directory = Path(directory)
    clf = TransformerClassifier.load(directory)
    sample = clf.tokenizer(
        ["US sanctions on Iran"],
        ["Sanctions were tightened again on Monday."],
        return_tensors="pt",
        padding=True,
    )
    fp32 = directory / RUNTIMES["onnx-fp32"]
    with torch.inference_mode():
        torch.onnx.export(
            _Heads(clf).eval(),
            (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["stance_logits", "sentiment_logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "token_type_ids": {0: "batch", 1: "seq"},
                "stance_logits": {0: "batch"},
                "sentiment_logits": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    written = [fp32]
    if quantize:
        int8 = directory / RUNTIMES["onnx-int8"]
        # Per-channel int8 weights on the encoder's MatMuls only: embeddings and the two small
        # heads (Gemm) stay fp32, which keeps argmax agreement with fp32 high at the same speed-up.
        quantize_dynamic(
            str(fp32),
            str(int8),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
        )
        written.append(int8)
    logger.info("exported %s", ", ".join(str(p) for p in written))
    return written


def parity(
    directory: Path,
    texts: list[str],
    targets: list[str],
    gold: dict[str, list[int]],
    runtime: str = "onnx-int8",
) -> dict[str, dict[str, float]]:
    """Compare ``runtime`` with the torch fp32 model on the same items, per task.

    Returns the share of items with the same predicted label, and macro-F1 of each against gold.
    """
    from sklearn.metrics import f1_score

    reference = TransformerClassifier.load(directory).predict_proba(texts, targets)
    onnx = OnnxClassifier(directory, runtime)
    candidate = onnx.predict_proba(texts, targets)
    out: dict[str, dict[str, float]] = {}
    for task in ("stance", "sentiment"):
        a = reference.for_task(task).argmax(axis=1)
        b = candidate.for_task(task).argmax(axis=1)
        fa = float(f1_score(gold[task], a, average="macro"))
        fb = float(f1_score(gold[task], b, average="macro"))
        out[task] = {
            "agreement": float((a == b).mean()),
            "macro_f1_fp32": fa,
            "macro_f1_candidate": fb,
            "f1_drop_points": round(100 * (fa - fb), 3),
            "rechecked_share": onnx.items_rechecked / max(1, onnx.items_seen),
        }
    return out


def choose_recheck_margin(
    directory: Path, texts: list[str], targets: list[str], min_agreement: float
) -> tuple[float, list[dict[str, float]]]:
    """The smallest margin whose int8-then-fp32 cascade agrees with fp32 on ``min_agreement``.

    Simulated on the given (validation) items from one int8 and one fp32 pass: the cascade takes
    fp32's answer wherever int8's top-two margin is below the candidate. Returns the margin (the
    largest candidate when none reaches the target) and the agreement of every candidate tried.
    """
    int8 = OnnxClassifier(directory, "onnx-int8", recheck_margin=0.0)
    fast = int8.logits(texts, targets)
    exact = OnnxClassifier(directory, "onnx-fp32").logits(texts, targets)
    gap = top_two_margin(fast, int8.temperatures)
    tried = []
    for margin in RECHECK_MARGINS:
        redo = gap < margin
        agreement = min(
            float(
                (np.where(redo[:, None], exact[t], fast[t]).argmax(1) == exact[t].argmax(1)).mean()
            )
            for t in fast
        )
        tried.append({"margin": margin, "agreement": agreement, "rechecked": float(redo.mean())})
        if agreement >= min_agreement:
            return margin, tried
    logger.warning("no recheck margin reaches %.3f agreement on validation", min_agreement)
    return RECHECK_MARGINS[-1], tried
