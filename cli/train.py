"""Commands that make and judge models: train, evaluate, gate, export, benchmark."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cli.common import BACKENDS, PROJECT_ROOT, add_model_args, load_model

if TYPE_CHECKING:
    from training.config import RunConfig
    from training.public_sets import SetFile


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register train, evaluate, gate, export and benchmark."""
    from training.public_sets import BENCHMARKS, DEFAULT_SEED

    p = sub.add_parser("train", help="fit baseline + fine-tune transformer, evaluate, store")
    p.add_argument("--config", required=True, type=Path, help="YAML run config (see configs/)")
    p.add_argument("--no-save", action="store_true", help="do not write to the model store")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics of stored model(s) on a labelled corpus file")
    p.add_argument("--data", required=True, type=Path, help="labelled JSONL in the corpus format")
    p.add_argument(
        "--reports-dir", type=Path, default=Path("reports"), help="where the report goes"
    )
    add_model_args(p, both=True)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("gate", help="fail when a run's metrics miss the rules CI enforces")
    p.add_argument(
        "--metrics",
        type=Path,
        default=Path("reports/latest/metrics.json"),
        help="the run's metrics.json (default: %(default)s)",
    )
    p.add_argument(
        "--recorded",
        type=Path,
        default=Path("configs/recorded_metrics.json"),
        help="recorded figures per config (default: %(default)s)",
    )
    p.add_argument("--margin", type=float, default=0.05, help="allowed drop (default: %(default)s)")
    p.add_argument(
        "--no-baseline-check",
        action="store_true",
        help="skip the transformer-beats-baseline rule (short runs do not reach it)",
    )
    p.add_argument(
        "--require-significant",
        action="store_true",
        help="also fail when the lead over the baseline is not significant (paired test, p < 0.05)",
    )
    p.set_defaults(func=cmd_gate)

    p = sub.add_parser("export", help="export a stored transformer to ONNX fp32 + int8")
    p.add_argument("--model", default=None, help="store tag or artifact folder")
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="also choose the int8 recheck margin on this config's validation split, run the "
        "parity gate on its test split and record the runtime to serve",
    )
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "distill-targets",
        help="write a teacher model's logits on corpus items, for transformer.distill",
    )
    p.add_argument("--model", required=True, help="the teacher: store tag or artifact folder")
    p.add_argument(
        "--data", required=True, type=Path, nargs="+", help="corpus files whose items it scores"
    )
    p.add_argument("--out", required=True, type=Path, help="JSON Lines file to write")
    p.set_defaults(func=cmd_distill_targets)

    p = sub.add_parser(
        "benchmark", help="train and score on a public data set from ../shared/benchmarks"
    )
    p.add_argument("name", help="one of: " + ", ".join(BENCHMARKS))
    p.add_argument("--out", type=Path, default=None, help="default: runs/benchmarks/NAME")
    p.add_argument("--prepare-only", action="store_true", help="write the set files, do not train")
    p.add_argument("--epochs", type=float, default=None, help="override transformer.epochs")
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="seed of the splits made here (%(default)s)"
    )
    p.set_defaults(func=cmd_benchmark)


def cmd_train(args: argparse.Namespace) -> int:
    """Train both backends from a config and store them."""
    from training.config import load_config
    from training.launch import LaunchWorkerDone
    from training.pipeline import run_training

    try:
        run = run_training(load_config(args.config), save=not args.no_save)
    except LaunchWorkerDone as done:
        print(done, file=sys.stderr)
        return 0
    summary = {
        "run_id": run.run_id,
        "report_dir": str(run.report_dir),
        "model_tag": run.model_tag,
        "train_seconds": run.metrics.train_seconds,
        "served_runtime": run.metrics.serving.runtime if run.metrics.serving else None,
        "headline": run.metrics.headline(),
    }
    print(json.dumps(summary, indent=2))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score stored model(s) on a labelled corpus file."""
    from training.data import read_examples
    from training.pipeline import run_evaluation

    examples = read_examples(args.data)
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    models, name = {}, ""
    for b in backends:
        models[b], name = load_model(b, args.model)
    metrics, report = run_evaluation(models, examples, args.data.stem, args.reports_dir, name)
    out = {
        "model": name,
        "report_dir": str(report),
        "metrics": {
            s: {b: {t: r.metrics | {"ci95": r.ci95} for t, r in bt.items()} for b, bt in bb.items()}
            for s, bb in metrics.results.items()
        },
        "comparisons": {
            s: {t: c.model_dump() for t, c in ct.items()} for s, ct in metrics.comparisons.items()
        },
    }
    print(json.dumps(out, indent=2))
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    """Check a run's metrics against the gate's rules."""
    import sys

    from model.metrics import RunMetrics
    from training.gate import check, notes

    failures = check(
        args.metrics,
        args.recorded,
        args.margin,
        not args.no_baseline_check,
        args.require_significant,
    )
    for line in notes(RunMetrics.load(args.metrics)):
        print(f"gate: note: {line}", file=sys.stderr)
    for f in failures:
        print(f"gate: {f}", file=sys.stderr)
    print("gate: " + ("passed" if not failures else f"{len(failures)} failure(s)"))
    return 0 if not failures else 1


def cmd_export(args: argparse.Namespace) -> int:
    """Export the transformer of a stored model (or artifact folder) to ONNX; gate with --config."""
    from service.store import resolve_model
    from training.export import export_onnx

    folder, name = resolve_model(args.model, "transformer")
    if args.config is None:
        for path in export_onnx(folder):
            print(path)
        return 0
    from training.config import load_config
    from training.data import read_examples
    from training.export import choose_runtime

    config = load_config(args.config)
    validation, test = read_examples(config.data.validation), read_examples(config.data.test)
    chosen = choose_runtime(folder, validation, test, config.serving)
    print(json.dumps({"model": name} | chosen, indent=2))
    return 0


def benchmark_config(
    name: str, files: dict[str, SetFile], epochs: float | None = None
) -> RunConfig:
    """``configs/bench_NAME.yaml`` with its data paths pointed at materialized set files."""
    from training.config import DataConfig, TrainSource, load_config

    config = load_config(PROJECT_ROOT / "configs" / f"bench_{name}.yaml")
    paths = {k: Path(v["path"]) for k, v in files.items()}
    data = DataConfig(
        train=[TrainSource(path=paths.pop("train"))],
        validation=paths.pop("validation"),
        test=paths.pop("test"),
        extra_eval=paths,
    )
    config = config.model_copy(update={"data": data})
    if epochs is not None:
        if not 0 < epochs <= 50:
            raise ValueError(f"--epochs must be > 0 and at most 50, got {epochs}")
        transformer = config.transformer.model_copy(update={"epochs": epochs})
        config = config.model_copy(update={"transformer": transformer})
    return config


def cmd_benchmark(args: argparse.Namespace) -> int:
    """Materialize a public data set; unless --prepare-only, train on it and print its metric."""
    from training.public_sets import get_benchmark, materialize, scored_metrics

    bench = get_benchmark(args.name)
    files = materialize(args.name, args.out or Path("runs/benchmarks") / args.name, args.seed)
    out: dict[str, object] = {"benchmark": args.name, "task": bench.task}
    if args.prepare_only:
        print(json.dumps(out | {"files": files}, indent=2))
        return 0
    from training.pipeline import run_training

    run = run_training(benchmark_config(args.name, files, args.epochs), save=False)
    out |= {
        "run_id": run.run_id,
        "report_dir": str(run.report_dir),
        "train_seconds": run.metrics.train_seconds,
        "metrics": scored_metrics(args.name, run.metrics),
    }
    print(json.dumps(out, indent=2))
    return 0


def cmd_distill_targets(args: argparse.Namespace) -> int:
    """Score corpus items with a teacher and write its raw logits per item id."""
    import sys

    from training.data import read_examples

    teacher, name = load_model("transformer", args.model)
    examples = [e for path in args.data for e in read_examples(path)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as fh:
        for start in range(0, len(examples), 256):
            chunk = examples[start : start + 256]
            z = teacher.logits(
                [e.text for e in chunk], [e.target for e in chunk], [e.context for e in chunk]
            )
            for i, e in enumerate(chunk):
                row = {
                    "id": e.id,
                    "stance_logits": [round(float(x), 5) for x in z["stance"][i]],
                    "sentiment_logits": [round(float(x), 5) for x in z["sentiment"][i]],
                }
                fh.write(json.dumps(row) + "\n")
    print(f"wrote {len(examples)} teacher targets from {name} to {args.out}", file=sys.stderr)
    return 0
