"""Model experiments: train each config, score it on the real validation split, keep one table.

Nothing is stored in the model store.

Each run appends a row to ``reports/experiments/results.jsonl`` (config, what it changes, stance
and sentiment macro-F1 on the validation split with 95% document-bootstrap intervals, the same on
every other evaluation set, training time), and the Markdown table
``reports/experiments/results.md`` is rewritten from all rows. The default config is chosen from
this table; the README and the report show it (``docs/experiments.md`` is the committed copy).

Example:
    python -m benchmarks.experiments configs/experiments/*.yaml
    python -m benchmarks.experiments --table-only
    python -m benchmarks.experiments --score runs/us_sanctions-<id>/artifact --name us_sanctions
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

OUT = Path("reports/experiments")
VALIDATION = "real_validation"  # every experiment is compared on the real validation split
VALIDATION_FILE = Path("data/real/validation.jsonl")


def run_one(path: Path) -> dict[str, Any]:
    """Train the config at ``path`` (not stored) and return its table row."""
    from training.config import DataConfig, load_config
    from training.pipeline import run_training

    config = load_config(path)
    extra = {VALIDATION: VALIDATION_FILE} | dict(config.data.extra_eval)
    data = DataConfig(
        train=config.data.train,
        validation=config.data.validation,
        test=config.data.test,
        extra_eval=extra,
    )
    serving = config.serving.model_copy(update={"runtime": "torch"})  # no export needed here
    config = config.model_copy(update={"data": data, "serving": serving})
    started = time.perf_counter()
    run = run_training(config, save=False)
    m = run.metrics
    row: dict[str, Any] = {
        "config": str(path),
        "name": config.name,
        "about": about(path),
        "wall_seconds": round(time.perf_counter() - started),
        "train_seconds": m.train_seconds,
        "train_items": m.sizes.get("train"),
        "epochs": m.training_log.get("epochs_run"),
        "report": str(run.report_dir),
        "sets": {},
    }
    for eval_set, by_backend in m.results.items():
        row["sets"][eval_set] = {
            backend: {
                task: {
                    "macro_f1": round(r.metrics["macro_f1"], 4),
                    "ci95": [round(x, 4) for x in r.ci95["macro_f1"]],
                }
                for task, r in by_task.items()
            }
            for backend, by_task in by_backend.items()
        }
    return row


SETS = {
    VALIDATION: VALIDATION_FILE,
    "test": Path("data/real/test.jsonl"),
    "written_test": Path("data/written/test.jsonl"),
    "out_of_regime": Path("data/written/test_out_of_regime.jsonl"),
    "sanctions_real_dev": Path("../shared/benchmarks/sanctions-real/dev.jsonl"),
}


def probabilities(folder: Path, examples: list[Any]) -> Any:
    """Calibrated probabilities of the artifact at ``folder`` on ``examples``."""
    from model import load_classifier

    clf = load_classifier(folder, runtime="torch")  # the baseline ignores the runtime
    return clf.predict_proba(
        [e.text for e in examples], [e.target for e in examples], [e.context for e in examples]
    )


def best_weight(a: Any, b: Any, gold: list[str], task: str) -> float:
    """The transformer weight in 0, 0.1, ..., 1 whose blend has the best validation macro-F1."""
    import numpy as np
    from sklearn.metrics import f1_score

    from model.labels import TASKS

    labels = TASKS[task]

    def f1(w: float) -> float:
        pred = [labels[i] for i in (w * a + (1 - w) * b).argmax(1)]
        return float(f1_score(gold, pred, average="macro"))

    return max((round(float(w), 1) for w in np.linspace(0, 1, 11)), key=f1)


def combined_row(name: str, about_text: str, parts: list[Path], weighted: bool) -> dict[str, Any]:
    """A row for a combination of trained artifacts, scored like a run.

    ``weighted``: ``parts`` are one run's transformer and baseline, averaged with the weight per
    task chosen on the validation split (0, 0.1, ..., 1 for the transformer). Otherwise ``parts``
    are transformers of several runs (seeds), averaged with equal weights.
    """
    from training.data import read_examples
    from training.evaluation import score_task

    sets = {k: read_examples(v) for k, v in SETS.items() if v.is_file()}
    probs = {k: [probabilities(p, ex) for p in parts] for k, ex in sets.items()}
    weights = {"stance": 1.0 / len(parts), "sentiment": 1.0 / len(parts)}
    if weighted:
        for task in weights:
            a, b = (p.for_task(task) for p in probs[VALIDATION])
            weights[task] = best_weight(a, b, [getattr(e, task) for e in sets[VALIDATION]], task)
    if weighted:
        about_text += f" (transformer weight {weights['stance']} for stance, "
        about_text += f"{weights['sentiment']} for sentiment, chosen on validation)"
    row: dict[str, Any] = {"config": "+".join(map(str, parts)), "name": name,
                           "about": about_text, "sets": {}}  # fmt: skip
    for k, ex in sets.items():
        row["sets"][k] = {"transformer": {}}
        for task, w in weights.items():
            arrays = [p.for_task(task) for p in probs[k]]
            if weighted:
                mixed = w * arrays[0] + (1 - w) * arrays[1]
            else:
                mixed = sum(arrays) / len(arrays)
            r = score_task(task, mixed, ex, seed=13)
            row["sets"][k]["transformer"][task] = {
                "macro_f1": round(r.metrics["macro_f1"], 4),
                "ci95": [round(x, 4) for x in r.ci95["macro_f1"]],
            }
    return row


def scored_row(root: Path, name: str) -> dict[str, Any]:
    """A row for a run trained elsewhere (e.g. by CI): its transformer and baseline, scored apart.

    The run's own metrics (``root/transformer/metrics.json``) give its training time.
    """
    from model.metrics import RunMetrics
    from training.data import read_examples
    from training.evaluation import score_task

    metrics_file = root / "transformer" / "metrics.json"
    m = RunMetrics.load(metrics_file) if metrics_file.is_file() else None
    row: dict[str, Any] = {
        "config": str(root),
        "name": name,
        "about": f"run {m.run_id}, scored here" if m else "scored here",
        "train_seconds": m.train_seconds if m else None,
        "sets": {},
    }
    for k, path in SETS.items():
        if not path.is_file():
            continue
        ex = read_examples(path)
        row["sets"][k] = {}
        for backend in ("transformer", "baseline"):
            probs = probabilities(root / backend, ex)
            row["sets"][k][backend] = {}
            for task in ("stance", "sentiment"):
                r = score_task(task, probs.for_task(task), ex, seed=13)
                row["sets"][k][backend][task] = {
                    "macro_f1": round(r.metrics["macro_f1"], 4),
                    "ci95": [round(x, 4) for x in r.ci95["macro_f1"]],
                }
    return row


def about(path: Path) -> str:
    """The config's first comment line: what the experiment changes."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def cell(r: dict[str, Any]) -> str:
    """``0.812 [0.781, 0.840]``."""
    lo, hi = r["ci95"]
    return f"{r['macro_f1']:.3f} [{lo:.3f}, {hi:.3f}]"


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of every run: validation, then the other sets' stance and sentiment."""
    lines = [
        "| experiment | what changes | val stance | val sentiment | baseline val stance | "
        "train time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        val = row["sets"][VALIDATION]
        t, b = val["transformer"], val.get("baseline")
        base = cell(b["stance"]) if b else ""
        seconds = f"{row['train_seconds']:.0f}" if row.get("train_seconds") else ""
        lines.append(
            f"| `{row['name']}` | {row['about']} | {cell(t['stance'])} | {cell(t['sentiment'])} | "
            f"{base} | {seconds} |"
        )
    others = sorted({s for row in rows for s in row["sets"] if s != VALIDATION})
    lines += ["", "Transformer stance / sentiment macro-F1 on the other evaluation sets:", ""]
    lines += ["| experiment | " + " | ".join(others) + " |", "|---|" + "---|" * len(others)]
    for row in rows:
        cells = []
        for s in others:
            r = row["sets"].get(s, {}).get("transformer")
            cells.append(
                f"{r['stance']['macro_f1']:.3f} / {r['sentiment']['macro_f1']:.3f}" if r else ""
            )
        lines.append(f"| `{row['name']}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the given configs one after another, then rewrite the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments", description=__doc__)
    parser.add_argument("configs", nargs="*", type=Path, help="experiment configs to run")
    parser.add_argument("--table-only", action="store_true", help="only rewrite the table")
    parser.add_argument(
        "--blend",
        type=Path,
        metavar="ARTIFACT_ROOT",
        help="score a run's transformer and baseline averaged (weights chosen on validation)",
    )
    parser.add_argument(
        "--average",
        type=Path,
        nargs="+",
        metavar="TRANSFORMER",
        help="score several runs' transformers averaged (a seed ensemble)",
    )
    parser.add_argument(
        "--score",
        type=Path,
        metavar="ARTIFACT_ROOT",
        help="score a run trained elsewhere (transformer and baseline apart), no training",
    )
    parser.add_argument(
        "--name", default=None, help="the row's name for --score / --blend / --average"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    OUT.mkdir(parents=True, exist_ok=True)
    results = OUT / "results.jsonl"
    for path in [] if args.table_only else args.configs:
        row = run_one(path)
        with results.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
        val = row["sets"][VALIDATION]["transformer"]
        print(f"{row['name']}: validation stance {cell(val['stance'])}, sentiment "
              f"{cell(val['sentiment'])}, {row['train_seconds']:.0f} s", flush=True)  # fmt: skip
    extra_rows = []
    if args.score:
        extra_rows.append(scored_row(args.score, args.name or args.score.parent.name))
    if args.blend:
        root = args.blend
        extra_rows.append(combined_row(args.name or "blend", "calibrated average of transformer "
                                       "and TF-IDF", [root / "transformer", root / "baseline"],
                                       weighted=True))  # fmt: skip
    if args.average:
        about_text = f"average of {len(args.average)} runs' transformers, equal weights"
        name = args.name or "seed_ensemble"
        extra_rows.append(combined_row(name, about_text, args.average, weighted=False))
    for row in extra_rows:
        with results.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")
    if not results.is_file():
        print(f"no results yet in {results}", file=sys.stderr)
        return 1
    rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line]
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:  # the last run of each config
        latest[row["name"]] = row
    (OUT / "results.md").write_text(table(list(latest.values())), encoding="utf-8")
    print(OUT / "results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
