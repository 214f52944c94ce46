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
        t, b = val["transformer"], val["baseline"]
        lines.append(
            f"| `{row['name']}` | {row['about']} | {cell(t['stance'])} | {cell(t['sentiment'])} | "
            f"{cell(b['stance'])} | {row['train_seconds']:.0f} |"
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
