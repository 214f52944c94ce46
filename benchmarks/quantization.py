"""Reduced-precision variants of a stored transformer against exact fp32: agreement, F1 drop, speed.

Builds, in a scratch copy of the artifact, the int8 graphs ONNX Runtime can make from our fp32
export, and scores each on every labelled evaluation set present (real test, written test,
sanctions-real dev) beside ONNX fp32:

- ``dynamic``: dynamic int8, per-channel weights, MatMuls only (what ``stance export`` writes);
- ``dynamic-ffn-out-fp32``: the same with the most sensitive MatMuls kept in fp32: each layer's
  feed-forward output projection, whose input (after GELU) has the widest range. Found by keeping
  one kind of MatMul at a time in fp32 (query/key/value, attention output, feed-forward in, out):
  this kind raised agreement on the written test the most;
- ``optimized-fp32`` / ``optimized-dynamic``: ONNX Runtime's transformer optimizer
  (``optimize_model``, ``model_type="bert"``: fused attention, LayerNorm and GELU) alone, and
  before the same dynamic quantisation;
- ``dynamo-fp32`` / ``dynamo-dynamic``: the graph of torch's newer exporter
  (``torch.onnx.export(..., dynamo=True)``, dynamic shapes), alone and dynamically quantised;
- ``static-minmax`` / ``static-entropy`` / ``static-percentile``: static QDQ int8 (activations
  and per-channel weights), calibrated on training sentences with each method;
- ``cascade``: dynamic int8 with close calls rechecked in fp32 at the artifact's margin;
- ``torch-fp32`` / ``torch-bf16``: the torch model itself, and its weights and activations in bf16
  (the CPU's AMX or AVX-512 BF16 units where it has them).

Per variant and set: label agreement with fp32 and the macro-F1 drop in points, per task; then
sentences/s in process (batch 32, 512 real test sentences, the better of two passes) and its
ratio to fp32. A variant *passes* when agreement is at least 98% and the drop at most 0.5 point
in both tasks on every set. Timings swing with load: compare the ratios of one run.

Example:
    python -m benchmarks.quantization --model runs/us_sanctions-<id>/artifact/transformer
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from model.transformer import ENCODER_DIR

SETS = {
    "test": Path("data/real/test.jsonl"),
    "written_test": Path("data/written/test.jsonl"),
    "sanctions_real_dev": Path("../shared/benchmarks/sanctions-real/dev.jsonl"),
}
CALIBRATION = Path("data/real/train.jsonl").resolve()  # variants are built in a scratch folder
MIN_AGREEMENT, MAX_DROP_POINTS = 0.98, 0.5


class Calibration:
    """ONNX Runtime CalibrationDataReader over tokenised training pairs, batch by batch."""

    def __init__(self, clf: Any, n: int, batch: int = 16) -> None:
        from training.data import read_examples

        examples = read_examples(CALIBRATION)[:n]
        self.feeds = []
        for i in range(0, len(examples), batch):
            chunk = examples[i : i + batch]
            enc = clf.pairs.encode(
                [e.text for e in chunk],
                [e.target for e in chunk],
                [e.context for e in chunk],
                return_tensors="np",
            )
            self.feeds.append(
                {k: v.astype(np.int64) for k, v in enc.items() if k in clf.input_names}
            )
        # One sequence length for all batches: the entropy and percentile collectors stack every
        # batch's activations and need equal shapes (pad id 0, attention 0).
        width = max(f["input_ids"].shape[1] for f in self.feeds)
        for f in self.feeds:
            for k, v in f.items():
                f[k] = np.pad(v, ((0, 0), (0, width - v.shape[1])))
        self.it = iter(self.feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        """The next batch of feeds, None when done."""
        return next(self.it, None)

    def rewind(self) -> None:
        """Start again from the first batch."""
        self.it = iter(self.feeds)


def build_variants(
    folder: Path, work: Path, calibration_items: int, only: set[str] | None = None
) -> dict[str, Path]:
    """Write every variant's graph (or those in ``only``) under ``work``; return name -> file.

    A variant that ONNX Runtime cannot build is reported on stderr; the others are still built.
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_dynamic,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process
    from onnxruntime.transformers.optimizer import optimize_model

    from model.onnx_runtime import OnnxClassifier

    fp32 = folder / "model.onnx"
    encoder = json.loads((folder / ENCODER_DIR / "config.json").read_text(encoding="utf-8"))
    heads, size = int(encoder["num_attention_heads"]), int(encoder["hidden_size"])

    def dynamic(src: Path, dst: Path, keep: list[str] | None = None) -> None:
        # Fused nodes (com.microsoft domain) have no inferred output type: say it is float.
        quantize_dynamic(
            str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
            op_types_to_quantize=["MatMul"], nodes_to_exclude=keep or [],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )  # fmt: skip

    def ffn_out_fp32(dst: Path) -> None:
        graph = onnx.load(str(fp32)).graph
        weights = {i.name for i in graph.initializer}
        keep = [
            n.name
            for n in graph.node
            if n.op_type == "MatMul"
            and any(i in weights for i in n.input)
            and "/output/dense/" in n.name
            and "/attention/" not in n.name
        ]
        if not keep:
            raise ValueError("no feed-forward output MatMuls (BERT-style node names) in the graph")
        dynamic(fp32, dst, keep)

    def optimized(dst: Path) -> None:
        model = optimize_model(str(fp32), model_type="bert", num_heads=heads, hidden_size=size)
        model.save_model_to_file(str(dst))

    def static(method: Any) -> Any:
        def build(dst: Path) -> None:
            prepared = work / "prepared.onnx"
            if not prepared.is_file():
                quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
            reader = Calibration(OnnxClassifier(folder, "onnx-fp32"), calibration_items)
            quantize_static(
                str(prepared), str(dst), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                calibrate_method=method, op_types_to_quantize=["MatMul"],
            )  # fmt: skip

        return build

    def dynamo(dst: Path) -> None:
        from model.transformer import TransformerClassifier
        from training.export import export_graph

        export_graph(TransformerClassifier.load(folder), dst, dynamo=True)

    builders = {
        "dynamic": lambda dst: dynamic(fp32, dst),
        "dynamic-ffn-out-fp32": ffn_out_fp32,
        "dynamo-fp32": dynamo,
        "dynamo-dynamic": lambda dst: dynamic(work / "dynamo-fp32.onnx", dst),
        "optimized-fp32": optimized,
        "optimized-dynamic": lambda dst: dynamic(work / "optimized-fp32.onnx", dst),
        "static-minmax": static(CalibrationMethod.MinMax),
        "static-entropy": static(CalibrationMethod.Entropy),
        "static-percentile": static(CalibrationMethod.Percentile),
    }
    out: dict[str, Path] = {"fp32": fp32}
    for name, build in builders.items():
        if only is not None and name not in only:
            continue
        dst = work / f"{name}.onnx"
        started = time.perf_counter()
        try:
            with contextlib.chdir(work):  # ONNX Runtime writes its scratch graphs to the cwd
                build(dst)
        except Exception as exc:  # report the variant that cannot be built, keep the others
            print(f"{name}: not built ({type(exc).__name__}: {exc})", file=sys.stderr)
            continue
        print(f"{name}: built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        out[name] = dst
    return out


def speed(clf: Any, texts: list[str], targets: list[str]) -> float:
    """Sentences per second, the better of two passes after a warm-up batch."""
    from training.export import throughput

    return throughput(clf, texts, targets)


def main(argv: list[str] | None = None) -> int:
    """Build the variants, score them, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quantization", description=__doc__)
    parser.add_argument("--model", required=True, type=Path, help="a transformer artifact folder")
    parser.add_argument("--calibration-items", type=int, default=256)
    parser.add_argument("--speed-items", type=int, default=512)
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument(
        "--variants",
        default=None,
        help="comma-separated variants to build (default: all); fp32 and torch always run",
    )
    args = parser.parse_args(argv)
    from model import load_classifier
    from model.onnx_runtime import OnnxClassifier
    from training.data import read_examples

    folder = args.model
    if not (folder / "model.onnx").is_file():
        print(f"error: {folder / 'model.onnx'} not found; export the model with "
              f"`stance export --model {folder}`", file=sys.stderr)  # fmt: skip
        return 2
    sets = {k: read_examples(p) for k, p in SETS.items() if p.is_file()}
    speed_rows = sets["test"] * (args.speed_items // len(sets["test"]) + 1)
    speed_texts = [e.text for e in speed_rows[: args.speed_items]]
    speed_targets = [e.target for e in speed_rows[: args.speed_items]]
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        copy = work / "artifact"
        shutil.copytree(folder, copy)
        only = set(args.variants.split(",")) if args.variants else None
        variants = build_variants(copy, work, args.calibration_items, only)
        reference: dict[str, dict[str, np.ndarray]] = {}
        for name, graph in variants.items():
            if name != "fp32":
                shutil.copy(graph, copy / "model.int8.onnx")
            runtime = "onnx-fp32" if name == "fp32" else "onnx-int8"
            clf = OnnxClassifier(copy, runtime, recheck_margin=0.0)
            row: dict[str, Any] = {"variant": name}
            row["sets"] = score_sets(clf, sets, reference)
            row["sentences_per_s"] = round(speed(clf, speed_texts, speed_targets), 1)
            rows.append(row)
            if name == "dynamic":  # the served cascade: the same graph, the artifact's margin
                cascade = OnnxClassifier(copy, "onnx-int8")
                rows.append(cascade_row(cascade, sets, reference, speed_texts, speed_targets))
        for runtime in ("torch", "torch-bf16"):
            torch_clf = load_classifier(copy, runtime)
            row = {"variant": "torch-fp32" if runtime == "torch" else runtime}
            row["sets"] = score_sets(torch_clf, sets, reference)
            row["sentences_per_s"] = round(speed(torch_clf, speed_texts, speed_targets), 1)
            rows.append(row)
    fp32_speed = rows[0]["sentences_per_s"]
    heads = [f"{k} agreement (stance / sentiment) | {k} F1 drop, points" for k in sets]
    print("| variant | " + " | ".join(heads) + " | sentences/s | / fp32 | passes |")
    print("|---|" + "---|---|" * len(sets) + "---|---|---|")
    for row in rows:
        row["ratio_to_fp32"] = round(row["sentences_per_s"] / fp32_speed, 2)
        row["passes"] = all(
            r["agreement"] >= MIN_AGREEMENT and r["drop_points"] <= MAX_DROP_POINTS
            for by_task in row["sets"].values()
            for r in by_task.values()
        )
        cells = []
        for k in sets:
            s, m = row["sets"][k]["stance"], row["sets"][k]["sentiment"]
            cells.append(f"{s['agreement']:.1%} / {m['agreement']:.1%}")
            cells.append(f"{s['drop_points']:+.2f} / {m['drop_points']:+.2f}")
        print(f"| {row['variant']} | " + " | ".join(cells) + f" | {row['sentences_per_s']:.0f} | "
              f"{row['ratio_to_fp32']:.2f} | {'yes' if row['passes'] else 'no'} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


def score_sets(
    clf: Any, sets: dict[str, list[Any]], reference: dict[str, dict[str, np.ndarray]]
) -> dict[str, dict[str, dict[str, float]]]:
    """Per set and task: agreement with fp32 and macro-F1 drop in points.

    An empty ``reference`` is filled with ``clf``'s own labels: the first classifier is fp32.
    """
    from sklearn.metrics import f1_score

    from model.labels import TASKS

    out: dict[str, dict[str, dict[str, float]]] = {}
    for k, ex in sets.items():
        probs = clf.predict_proba(
            [e.text for e in ex], [e.target for e in ex], [e.context for e in ex]
        )
        pred = {t: probs.for_task(t).argmax(1) for t in TASKS}
        reference.setdefault(k, pred)
        out[k] = {}
        for t, labels in TASKS.items():
            gold = [labels.index(getattr(e, t)) for e in ex]
            f_ref = f1_score(gold, reference[k][t], average="macro")
            f_var = f1_score(gold, pred[t], average="macro")
            out[k][t] = {
                "agreement": round(float((pred[t] == reference[k][t]).mean()), 4),
                "drop_points": round(100 * float(f_ref - f_var), 2),
            }
    return out


def cascade_row(
    clf: Any,
    sets: dict[str, list[Any]],
    reference: dict[str, dict[str, np.ndarray]],
    texts: list[str],
    targets: list[str],
) -> dict[str, Any]:
    """The served cascade, scored like a variant, with its share of items rechecked in fp32."""
    row: dict[str, Any] = {"variant": f"cascade (margin {clf.recheck_margin})"}
    row["sets"] = score_sets(clf, sets, reference)
    row["rechecked_share"] = round(clf.items_rechecked / max(1, clf.items_seen), 3)
    row["sentences_per_s"] = round(speed(clf, texts, targets), 1)
    return row


if __name__ == "__main__":
    sys.exit(main())
