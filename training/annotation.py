"""Agreement between annotation passes, and corpus statistics for the datasheet.

Written corpus: the raw files hold the first pass's labels; ``annotation/written/`` holds the
second passes (``second_pass.jsonl`` over 163 whole documents, ``recalibration_pass.jsonl`` over
the rest, under the clarified guidelines). Real corpus: ``annotation/real/pass1.jsonl`` and
``pass2.jsonl``. Kappa is measured before adjudication, on the items both passes labelled.

Example:
    stance data agreement
    stance data stats data
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from sklearn.metrics import cohen_kappa_score

from model.labels import TASKS
from training.corpus import RECALIBRATION, SECOND_PASS, read_raw
from training.data import Example, read_examples
from training.real_corpus import RealPaths, by_id, pair_passes
from training.regions import region_of


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


def table(title: str, counts: Counter[str], top: int | None = None) -> str:
    """A Markdown count table; with ``top``, the largest groups and one row for the rest."""
    total = sum(counts.values())
    rows = [f"| {title} | items | share |", "|---|---|---|"]
    ordered = sorted(counts.items()) if top is None else counts.most_common()
    shown = ordered if top is None else ordered[:top]
    rows += [f"| {k} | {v} | {v / total:.1%} |" for k, v in shown]
    rest = ordered[len(shown) :]
    if rest:
        n = sum(v for _, v in rest)
        rows.append(f"| {len(rest)} other {title}s | {n} | {n / total:.1%} |")
    return "\n".join(rows)


def era(year: int | None) -> str:
    """Decade bucket of a year."""
    return "unknown" if year is None else f"{year // 10 * 10}s"


def by_split(rows: list[tuple[str, Example]]) -> str:
    """Label counts per split: one row a split, one column a label of each task."""
    labels = [lab for task in TASKS.values() for lab in task]
    lines = ["| split | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for split in sorted({s for s, _ in rows}):
        mine = [e for s, e in rows if s == split]
        counts = Counter(e.stance for e in mine) + Counter(e.sentiment for e in mine)
        lines.append(f"| {split} | " + " | ".join(str(counts[lab]) for lab in labels) + " |")
    return "\n".join(lines)


def corpus_stats(files: list[Path]) -> str:
    """Markdown tables of counts per split, label, regime, source kind, era and region."""
    rows = [(f"{f.parent.name}/{f.stem}", e) for f in files for e in read_examples(f)]
    real = [e for _, e in rows if e.source in ("ungd", "presidential")]
    parts = [
        table("split", Counter(s for s, _ in rows)),
        table("stance", Counter(e.stance for _, e in rows)),
        table("sentiment", Counter(e.sentiment for _, e in rows)),
        table("stance x sentiment", Counter(f"{e.stance} + {e.sentiment}" for _, e in rows)),
        table("regime", Counter(e.regime for _, e in rows), top=25),
        table("source", Counter(e.source for _, e in rows)),
        table("era", Counter(era(e.year) for _, e in rows)),
    ]
    if real:
        parts.append(table("region", Counter(region_of(e.speaker, e.source) for e in real)))
    parts.append(by_split(rows))
    docs = {e.doc_id for _, e in rows}
    head = f"{len(rows)} items in {len(docs)} documents, {len({e.target for _, e in rows})} targets"
    return head + "\n\n" + "\n\n".join(parts) + "\n"


def agreement_report(data: Path) -> dict[str, Any]:
    """Kappa per task for every pair of passes of both corpora, before adjudication."""
    out: dict[str, Any] = {}
    first = {i["id"]: i for items in read_raw(data / "written" / "raw").values() for i in items}
    folder = data / "annotation" / "written"
    for name in (SECOND_PASS, RECALIBRATION):
        if (folder / name).is_file():
            labelled = {k: v for k, v in by_id(folder / name).items() if "stance" in v}
            out[f"written/{name.removesuffix('.jsonl')}"] = agreement(first, labelled)
    paths = RealPaths(data)
    if (paths.annotation / "pass2.jsonl").is_file():
        pairs = pair_passes(
            by_id(paths.annotation / "pass1.jsonl"), by_id(paths.annotation / "pass2.jsonl")
        )
        both = [p for p in pairs if p.second and p.first["relevant"] and p.second.get("relevant")]
        a = {p.id: p.first for p in both}
        b = {p.id: p.second for p in both if p.second is not None}
        real = agreement(a, b)
        judged = [p for p in pairs if p.second is not None]
        same = sum(
            bool(p.first["relevant"]) == bool(p.second.get("relevant")) for p in judged if p.second
        )
        real["relevance_agreement"] = round(same / max(1, len(judged)), 4)
        real["items_both_passes"] = len(judged)
        out["real/pass1_vs_pass2"] = real
    return out
