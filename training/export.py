"""Export the transformer artifact to ONNX and quantise it to int8 (ONNX Runtime dynamic).

Also the int8 parity check against torch fp32, and the choice of the int8 recheck margin (see
``model.onnx_runtime``) on validation items.

Example:
    stance export --model stance-classifier:latest
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from model.artifact import ArtifactConfig
from model.labels import TASKS
from model.onnx_runtime import RUNTIMES, OnnxClassifier, top_two_margin
from model.transformer import TransformerClassifier
from training.config import ServingConfig
from training.data import Example

# Candidate recheck margins, smallest first: the first that reaches the parity target wins.
RECHECK_MARGINS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)

logger = logging.getLogger(__name__)


class _Heads(nn.Module):
    """Positional-argument wrapper so the exported graph has named inputs and outputs."""

    def __init__(self, clf: TransformerClassifier) -> None:
        super().__init__()
        self.model = clf.model

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(input_ids, attention_mask, token_type_ids)
        return out["stance_logits"], out["sentiment_logits"]


def export_graph(clf: TransformerClassifier, path: Path, dynamo: bool = False) -> None:
    """Write ``clf``'s fp32 ONNX graph (both heads' logits) with dynamic batch and length.

    ``dynamo``: torch's newer exporter (``torch.export`` + dynamic shapes, opset 18). It matches
    torch as closely as the legacy one, but dynamic int8 of its graph ran slower here
    (``python -m benchmarks.quantization`` compares both), so export uses the legacy exporter.
    """
    sample = clf.tokenizer(
        ["US sanctions on Iran"],
        ["Sanctions were tightened again on Monday."],
        return_tensors="pt",
        padding=True,
    )
    # Encoders without segment ids (MPNet, RoBERTa) take two inputs, BERT-style ones three.
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]
    outputs = ["stance_logits", "sentiment_logits"]
    if dynamo:
        batch = torch.export.Dim("batch", min=1, max=4096)
        seq = torch.export.Dim("seq", min=2, max=clf.config.max_length * 4)
        shapes: dict[str, Any] = {
            "dynamic_shapes": tuple({0: batch, 1: seq} for _ in names),
            "opset_version": 18,
            "external_data": False,
        }
    else:
        axes = {n: {0: "batch", 1: "seq"} for n in names}
        shapes = {
            "dynamic_axes": axes | {o: {0: "batch"} for o in outputs},
            "opset_version": 17,
        }
    with torch.inference_mode():
        torch.onnx.export(
            _Heads(clf).eval(),
            tuple(sample[n] for n in names),
            str(path),
            input_names=names,
            output_names=outputs,
            dynamo=dynamo,
            **shapes,
        )


def export_onnx(directory: Path, quantize: bool = True) -> list[Path]:
    """Write model.onnx (fp32) and model.int8.onnx next to the transformer weights."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    directory = Path(directory)
    fp32 = directory / RUNTIMES["onnx-fp32"]
    export_graph(TransformerClassifier.load(directory), fp32)
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
    directory: Path, examples: list[Example], runtime: str = "onnx-int8"
) -> dict[str, dict[str, float]]:
    """Compare ``runtime`` with the torch fp32 model on the same items, per task.

    Returns the share of items with the same predicted label, and macro-F1 of each against gold.
    """
    from sklearn.metrics import f1_score

    items = (
        [e.text for e in examples],
        [e.target for e in examples],
        [e.context for e in examples],
    )
    gold = {t: [labels.index(getattr(e, t)) for e in examples] for t, labels in TASKS.items()}
    reference = TransformerClassifier.load(directory).predict_proba(*items)
    onnx = OnnxClassifier(directory, runtime)
    candidate = onnx.predict_proba(*items)
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
    directory: Path, examples: list[Example], min_agreement: float
) -> tuple[float, list[dict[str, float]]]:
    """The smallest margin whose int8-then-fp32 cascade agrees with fp32 on ``min_agreement``.

    Simulated on the given (validation) items from one int8 and one fp32 pass: the cascade takes
    fp32's answer wherever int8's top-two margin is below the candidate. Returns the margin (the
    largest candidate when none reaches the target) and the agreement of every candidate tried.
    """
    items = (
        [e.text for e in examples],
        [e.target for e in examples],
        [e.context for e in examples],
    )
    int8 = OnnxClassifier(directory, "onnx-int8", recheck_margin=0.0)
    fast = int8.logits(*items)
    exact = OnnxClassifier(directory, "onnx-fp32").logits(*items)
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


def choose_runtime(
    directory: Path, validation: list[Example], test: list[Example], serving: ServingConfig
) -> dict[str, Any]:
    """Export ONNX, check parity with torch fp32 on the test split, record the runtime to serve.

    For int8 the recheck margin (close calls recomputed in fp32) is chosen on validation first.
    A runtime that fails the parity gate falls back to ONNX fp32, then torch; the report says
    so. The choice is written into the artifact's config.json, once.
    """
    wanted = serving.runtime
    if wanted == "torch":
        return {"runtime": "torch"}
    export_onnx(directory)
    artifact = ArtifactConfig.read(directory)
    out: dict[str, Any] = {"candidate": wanted}
    if wanted == "onnx-int8":
        # A quarter of the allowed disagreement on validation: a margin that only just reaches the
        # target on ~500 validation items often misses it, or the F1 limit, on the test split.
        target = 1 - (1 - serving.min_agreement) / 4
        margin, tried = choose_recheck_margin(directory, validation, target)
        artifact.recheck_margin = margin
        artifact.write(directory)
        out |= {"recheck_margin": margin, "recheck_margins_tried": tried}
    runtime = "torch"
    for candidate in dict.fromkeys([wanted, "onnx-fp32"]):
        checks = parity(directory, test, candidate)
        passed = all(
            c["agreement"] >= serving.min_agreement
            and c["f1_drop_points"] <= serving.max_f1_drop_points
            for c in checks.values()
        )
        out.setdefault("parity", checks)
        out.setdefault("parity_passed", passed)
        if passed:
            runtime = candidate
            break
        logger.warning("%s failed the parity gate %s", candidate, checks)
    artifact.runtime = runtime  # type: ignore[assignment]
    artifact.write(directory)
    return out | {"runtime": runtime}
