"""Second-pass agreement, adjudication, and corpus statistics for the datasheet.

The raw files hold the first annotator's labels; ``data/annotation/second_pass.jsonl`` holds an
independent second pass over a sample of whole documents; ``adjudication.jsonl`` holds the final
label of every item on which the two passes disagreed, with the guideline rule applied.

Example:
    stance data agreement --raw data/raw --annotation data/annotation
    stance data stats data
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from sklearn.metrics import cohen_kappa_score

from model.labels import TASKS
from training.data import read_examples

SECOND_PASS = "second_pass.jsonl"
ADJUDICATION = "adjudication.jsonl"


def read_labels(path: Path) -> dict[str, dict[str, Any]]:
    """Read an id-keyed label file (second pass or adjudication)."""
    if not path.is_file():
        raise FileNotFoundError(f"annotation file {path} not found")
    out = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            row = json.loads(line)
            for task, labels in TASKS.items():
                if row.get(task) not in labels:
                    raise ValueError(f"{path}:{lineno}: {task} {row.get(task)!r} not in {labels}")
            out[row["id"]] = row
    return out


def agreement(
    first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Cohen's kappa and raw agreement per task over the items both passes labelled."""
    ids = sorted(set(first) & set(second))
    missing = sorted(set(second) - set(first))
    if missing:
        raise ValueError(f"second-pass ids not in the corpus: {missing[:5]}")
    out: dict[str, Any] = {"n": len(ids)}
    for task in TASKS:
        a = [first[i][task] for i in ids]
        b = [second[i][task] for i in ids]
        out[task] = {
            "kappa": round(float(cohen_kappa_score(a, b)), 3),
            "agreement": round(sum(x == y for x, y in zip(a, b, strict=True)) / len(ids), 3),
            "confusions": {
                f"{x}->{y}": c
                for (x, y), c in Counter(
                    (x, y) for x, y in zip(a, b, strict=True) if x != y
                ).most_common(6)
            },
        }
    return out


def table(title: str, counts: Counter[str]) -> str:
    """A Markdown count table."""
    total = sum(counts.values())
    rows = [f"| {title} | items | share |", "|---|---|---|"]
    rows += [f"| {k} | {v} | {v / total:.1%} |" for k, v in sorted(counts.items())]
    return "\n".join(rows)


def era(year: int | None) -> str:
    """Decade bucket of a year."""
    return "unknown" if year is None else f"{year // 10 * 10}s"


def corpus_stats(files: list[Path]) -> str:
    """Markdown tables of counts per split, label, regime, source kind and era."""
    rows = [(f.stem, e) for f in files for e in read_examples(f)]
    parts = [
        table("split", Counter(s for s, _ in rows)),
        table("stance", Counter(e.stance for _, e in rows)),
        table("sentiment", Counter(e.sentiment for _, e in rows)),
        table("stance x sentiment", Counter(f"{e.stance} + {e.sentiment}" for _, e in rows)),
        table("regime", Counter(e.regime for _, e in rows)),
        table("source", Counter(e.source for _, e in rows)),
        table("era", Counter(era(e.year) for _, e in rows)),
    ]
    docs = {e.doc_id for _, e in rows}
    head = f"{len(rows)} items in {len(docs)} documents, {len({e.target for _, e in rows})} targets"
    return head + "\n\n" + "\n\n".join(parts) + "\n"
