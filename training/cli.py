"""The ``stance`` command: train, predict, evaluate, serve, and corpus tools.

Example:
    stance predict "Sanctions on Iran are illegal and cruel." --target "US sanctions on Iran"
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tqdm.auto import tqdm

from model.labels import DEFAULT_TARGET
from training.benchmarks import BENCHMARKS, DEFAULT_SEED, SetFile

if TYPE_CHECKING:
    from training.config import RunConfig

logger = logging.getLogger(__name__)
BACKENDS = ("transformer", "baseline")
PREDICT_BATCH = 256
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _add_model_args(p: argparse.ArgumentParser, both: bool = False) -> None:
    choices = (*BACKENDS, "both") if both else BACKENDS
    p.add_argument(
        "--backend",
        choices=choices,
        default="both" if both else "transformer",
        help="which model answers (default: %(default)s)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="BentoML store tag (default stance-classifier:latest) or an artifact folder",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="stance", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "train", help="fit baseline + fine-tune transformer, evaluate, report, store"
    )
    p.add_argument("--config", required=True, type=Path, help="YAML run config (see configs/)")
    p.add_argument("--no-save", action="store_true", help="do not write to the model store")

    p = sub.add_parser(
        "benchmark",
        help="materialize a public benchmark from ../shared/benchmarks, train and score on it",
    )
    p.add_argument("name", help="one of: " + ", ".join(BENCHMARKS))
    p.add_argument("--out", type=Path, default=None, help="default: runs/benchmarks/NAME")
    p.add_argument("--prepare-only", action="store_true", help="write the set files, do not train")
    p.add_argument("--epochs", type=float, default=None, help="override transformer.epochs")
    p.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="seed of the splits made here (%(default)s)"
    )

    p = sub.add_parser("predict", help="classify sentences from arguments or a JSONL file")
    p.add_argument("sentences", nargs="*", help="sentences to classify (instead of --input)")
    p.add_argument(
        "--input", type=Path, help='JSONL file, one {"text": ..., "target"?: ...} a line'
    )
    p.add_argument("--output", type=Path, help="JSONL output file (default: standard output)")
    p.add_argument(
        "--target",
        default=None,
        help="target for lines without their own (default: the model's training target)",
    )
    _add_model_args(p)

    p = sub.add_parser("evaluate", help="metrics of stored model(s) on a labelled corpus file")
    p.add_argument("--data", required=True, type=Path, help="labelled JSONL in the corpus format")
    p.add_argument("--reports-dir", type=Path, default=Path("reports"), help="where to write")
    _add_model_args(p, both=True)

    p = sub.add_parser("serve", help="start the BentoML HTTP service")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument("--host", default="127.0.0.1")
    _add_model_args(p)

    p = sub.add_parser("gate", help="fail when a run's metrics fall below the recorded figures")
    p.add_argument("--metrics", type=Path, default=Path("reports/latest/metrics.json"))
    p.add_argument("--recorded", type=Path, default=Path("configs/recorded_metrics.json"))
    p.add_argument("--margin", type=float, default=0.05, help="allowed drop (default: %(default)s)")
    p.add_argument(
        "--no-baseline-check",
        action="store_true",
        help="skip the transformer-beats-baseline rule (short CI runs do not reach it)",
    )

    p = sub.add_parser("export", help="export a stored transformer to ONNX fp32 + int8")
    p.add_argument("--model", default=None, help="store tag or artifact folder")
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="also choose the int8 recheck margin on this config's validation split, run the "
        "parity gate on its test split and record the runtime to serve",
    )

    p = sub.add_parser("data", help="corpus tools")
    dsub = p.add_subparsers(dest="data_command", required=True)
    c = dsub.add_parser("check", help="validate a corpus folder or file; non-zero exit on problems")
    c.add_argument("path", type=Path)
    c.add_argument(
        "--min-share",
        type=float,
        default=0.15,
        help="smallest share each label may have (default: %(default)s)",
    )
    b = dsub.add_parser("build", help="assemble split files from raw document files")
    b.add_argument("--raw", type=Path, default=Path("data/raw"))
    b.add_argument("--out", type=Path, default=Path("data"))
    b.add_argument("--seed", type=int, default=13)
    b.add_argument(
        "--adjudication",
        type=Path,
        default=Path("data/annotation/adjudication.jsonl"),
        help="final labels of items the two annotation passes disagreed on",
    )
    a = dsub.add_parser("agreement", help="Cohen's kappa of the second annotation pass")
    a.add_argument("--raw", type=Path, default=Path("data/raw"))
    a.add_argument("--second", type=Path, default=Path("data/annotation/second_pass.jsonl"))
    s = dsub.add_parser(
        "stats", help="Markdown count tables of a corpus folder (for the datasheet)"
    )
    s.add_argument("path", type=Path)
    return parser


def cmd_train(args: argparse.Namespace) -> int:
    """Train both backends from a config and store them."""
    from training.config import load_config
    from training.pipeline import run_training

    config = load_config(args.config)
    summary = run_training(config, save=not args.no_save)
    print(
        json.dumps(
            {k: summary[k] for k in ("run_id", "report_dir", "train_seconds", "headline")}
            | {"model_tag": summary.get("model_tag")},
            indent=2,
        )
    )
    return 0


def benchmark_config(
    name: str, files: dict[str, SetFile], epochs: float | None = None
) -> RunConfig:
    """``configs/bench_NAME.yaml`` with its data paths pointed at materialized set files."""
    from training.config import DataConfig, load_config

    config = load_config(PROJECT_ROOT / "configs" / f"bench_{name}.yaml")
    paths = {k: Path(v["path"]) for k, v in files.items()}
    data = DataConfig(
        train=paths.pop("train"),
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
    """Materialize a public benchmark; unless --prepare-only, train on it and print its metric."""
    from training.benchmarks import get_benchmark, materialize, scored_metrics

    bench = get_benchmark(args.name)
    files = materialize(args.name, args.out or Path("runs/benchmarks") / args.name, args.seed)
    out: dict[str, Any] = {"benchmark": args.name, "task": bench.task}
    if args.prepare_only:
        print(json.dumps(out | {"files": files}, indent=2))
        return 0
    from training.pipeline import run_training

    summary = run_training(benchmark_config(args.name, files, args.epochs), save=False)
    report = json.loads((Path(summary["report_dir"]) / "metrics.json").read_text())
    out |= {k: summary[k] for k in ("run_id", "report_dir", "train_seconds")}
    print(json.dumps(out | {"metrics": scored_metrics(args.name, report["results"])}, indent=2))
    return 0


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        raise FileNotFoundError(f"input file {path} not found")
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f'{path}:{lineno}: expected an object like {{"text": "..."}}')
            text = obj.get("text")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{path}:{lineno}: field 'text' must be a non-empty string")
            target = obj.get("target")
            if target is not None and (not isinstance(target, str) or not target.strip()):
                raise ValueError(f"{path}:{lineno}: field 'target' must be a non-empty string")
            yield obj


def _load(backend: str, model: str | None) -> tuple[Any, str]:
    from model import load_classifier
    from training.store import resolve_model

    folder, tag = resolve_model(model, backend)
    return load_classifier(folder), tag


def _default_target(clf: Any) -> str:
    run_config = clf.config.extra.get("run_config", {})
    return str(run_config.get("default_target") or DEFAULT_TARGET)


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify sentences given as arguments or in a JSONL file."""
    if args.input is None and not args.sentences:
        raise ValueError("give sentences as arguments or --input FILE.jsonl")
    if args.input is not None and args.sentences:
        raise ValueError("give either sentences as arguments or --input, not both")
    if args.target is not None and not args.target.strip():
        raise ValueError("--target must be a non-empty string")
    if args.input is not None:
        rows = list(_read_jsonl(args.input))
    else:
        rows = [{"text": s} for s in args.sentences if s.strip()]
        if not rows:
            raise ValueError("every sentence given is empty")
    clf, tag = _load(args.backend, args.model)
    default = args.target or _default_target(clf)
    out_lines = []
    bar = tqdm(total=len(rows), desc="predict", unit="sent", disable=len(rows) < PREDICT_BATCH)
    for start in range(0, len(rows), PREDICT_BATCH):
        chunk = rows[start : start + PREDICT_BATCH]
        targets = [r.get("target") or default for r in chunk]
        for row, target, pred in zip(
            chunk, targets, clf.predict([r["text"] for r in chunk], targets), strict=True
        ):
            out_lines.append(
                json.dumps(
                    row | {"target": target} | pred.as_dict() | {"model": tag}, ensure_ascii=False
                )
            )
        bar.update(len(chunk))
    bar.close()
    text = "\n".join(out_lines) + "\n"
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.output.with_suffix(args.output.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(args.output)
        print(f"wrote {len(out_lines)} predictions to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Score stored model(s) on a labelled corpus file."""
    from training.data import read_examples
    from training.pipeline import run_evaluation, task_metrics

    examples = read_examples(args.data)
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    models, tag = {}, ""
    for b in backends:
        models[b], tag = _load(b, args.model)
    summary, results = run_evaluation(models, examples, args.data.stem, args.reports_dir, tag)
    print(
        json.dumps(
            {
                "model": tag,
                "report_dir": summary["report_dir"],
                "metrics": task_metrics(results),
                "comparisons": summary["comparisons"],
            },
            indent=2,
        )
    )
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Start `bentoml serve` on the chosen model."""
    from model.artifact import check_artifact
    from training.store import resolve_model

    folder, tag = resolve_model(args.model, args.backend)  # fail early with a clear message
    check_artifact(folder)  # a damaged model: one line here, not a server traceback
    env = os.environ | {"STANCE_MODEL_TAG": tag, "STANCE_BACKEND": args.backend}
    cmd = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "service.service:StanceService",
        "--host",
        args.host,
        "--port",
        str(args.port),
    ]
    print(f"serving {tag} ({args.backend}) on http://{args.host}:{args.port}", file=sys.stderr)
    return subprocess.call(cmd, env=env, cwd=PROJECT_ROOT)


def cmd_data(args: argparse.Namespace) -> int:
    """Corpus tools: check and build."""
    if args.data_command == "build":
        from training.corpus import build

        counts = build(args.raw, args.out, args.seed, args.adjudication)
        print(json.dumps(counts))
        return 0
    if args.data_command == "agreement":
        from training.annotation import agreement, read_labels
        from training.corpus import read_raw

        first = {item["id"]: item for items in read_raw(args.raw).values() for item in items}
        print(json.dumps(agreement(first, read_labels(args.second)), indent=2))
        return 0
    if args.data_command == "stats":
        from training.annotation import corpus_stats
        from training.data import corpus_files

        print(corpus_stats(corpus_files(args.path)), end="")
        return 0
    from training.data import check_corpus, corpus_files

    report = check_corpus(corpus_files(args.path), min_share=args.min_share)
    for note in report.notes:
        print(note)
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    print("corpus check: " + ("ok" if report.ok else f"{len(report.problems)} problem(s)"))
    return 0 if report.ok else 1


def cmd_gate(args: argparse.Namespace) -> int:
    """Check a run's metrics against the baseline and the recorded figures."""
    from training.gate import check

    failures = check(args.metrics, args.recorded, args.margin, not args.no_baseline_check)
    for f in failures:
        print(f"gate: {f}", file=sys.stderr)
    print("gate: " + ("passed" if not failures else f"{len(failures)} failure(s)"))
    return 0 if not failures else 1


def cmd_export(args: argparse.Namespace) -> int:
    """Export the transformer of a stored model (or artifact folder) to ONNX; gate with --config."""
    from training.export import export_onnx
    from training.store import resolve_model

    folder, tag = resolve_model(args.model, "transformer")
    if args.config is None:
        for path in export_onnx(folder):
            print(path)
        return 0
    from training.config import load_config
    from training.data import read_examples
    from training.pipeline import choose_runtime

    config = load_config(args.config)
    validation, test = read_examples(config.data.validation), read_examples(config.data.test)
    print(json.dumps({"model": tag} | choose_runtime(folder, validation, test, config), indent=2))
    return 0


COMMANDS = {
    "train": cmd_train,
    "benchmark": cmd_benchmark,
    "predict": cmd_predict,
    "evaluate": cmd_evaluate,
    "serve": cmd_serve,
    "data": cmd_data,
    "gate": cmd_gate,
    "export": cmd_export,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print one clear line and exit 2, never a traceback."""
    args = build_parser().parse_args(argv)
    # Our modules log at INFO; libraries (onnxruntime's quantiser uses the root logger) at WARNING.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for ours in ("model", "training", "service"):
        logging.getLogger(ours).setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
