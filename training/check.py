"""Validate a corpus.

Fields, labels, duplicates, leakage across splits, near-duplicates across splits and against
labelled evaluation sets, label balance, and the real corpus' annotation files.

Each problem is one line naming the file, the line and the item. ``data/`` holds two corpora,
``written/`` and ``real/``; a folder with split files, or one file, can be checked alone.

Example:
    stance data check data --eval-set ../shared/benchmarks/sanctions-real/dev.jsonl
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from model.labels import SENTIMENT_LABELS, STANCE_LABELS
from training.data import Example, parsed_lines
from training.dedup import near_duplicates, normalise

SPLIT_FILES = ("train", "validation", "test", "test_out_of_regime")
CORPORA = ("written", "real")


@dataclass
class CheckReport:
    """Outcome of ``check_corpus``: problems fail the check, notes are informative."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


@dataclass(frozen=True)
class Located:
    """An item and where it was read."""

    example: Example
    path: Path
    lineno: int

    @property
    def split(self) -> str:
        """The split name: corpus folder and file stem (``real/train``)."""
        return f"{self.path.parent.name}/{self.path.stem}"

    def where(self) -> str:
        """``file:line (id)``, the prefix of every problem line."""
        return f"{self.path}:{self.lineno} ({self.example.id})"


def corpus_files(target: Path) -> list[Path]:
    """The split files of a corpus folder (both corpora for ``data/``), or the single file given."""
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise FileNotFoundError(f"{target} is neither a corpus file nor a folder")
    folders = [target / c for c in CORPORA if (target / c).is_dir()] or [target]
    files = [f / f"{s}.jsonl" for f in folders for s in SPLIT_FILES if (f / f"{s}.jsonl").is_file()]
    if not files:
        raise FileNotFoundError(
            f"no split files in {target}: expected some of "
            + ", ".join(f"{s}.jsonl" for s in SPLIT_FILES)
            + " (or the folders written/ and real/ holding them)"
        )
    return files


def read_located(paths: list[Path], report: CheckReport) -> list[Located]:
    """Every well-formed item of ``paths``; malformed lines become problems."""
    items = []
    for path in paths:
        n = 0
        for lineno, ex, errs in parsed_lines(path):
            report.problems.extend(errs)
            if ex is not None:
                items.append(Located(ex, path, lineno))
                n += 1
        report.notes.append(f"{path}: {n} items")
    return items


def check_duplicates(items: list[Located], report: CheckReport) -> None:
    """Repeated ids, repeated (text, target) in a split, and a document in two splits."""
    ids: dict[tuple[str, str], Located] = {}
    pairs: dict[tuple[str, str, str], Located] = {}
    doc_split: dict[str, Located] = {}
    for it in items:
        ex = it.example
        key = (it.path.parent.name, ex.id)
        if key in ids:
            report.problems.append(f"{it.where()}: duplicate id (first at {ids[key].where()})")
        ids.setdefault(key, it)
        pair = (it.split, normalise(ex.text), ex.target.lower().strip())
        if pair in pairs:
            report.problems.append(
                f"{it.where()}: duplicate text for the same target (first at {pairs[pair].where()})"
            )
        pairs.setdefault(pair, it)
        first = doc_split.setdefault(ex.doc_id, it)
        if first.split != it.split:
            report.problems.append(
                f"{it.where()}: document {ex.doc_id!r} is also in split {first.split} "
                f"({first.where()})"
            )


def check_near_duplicates(
    items: list[Located], eval_items: list[Located], report: CheckReport
) -> None:
    """Near-duplicate sentences in two splits, or of an item of a labelled evaluation set."""
    texts = sorted({it.example.text for it in items})
    owners: dict[str, list[Located]] = {}
    for it in items:
        owners.setdefault(it.example.text, []).append(it)
    seen: set[tuple[str, str]] = set()
    for i, j, score in near_duplicates(texts, texts):
        if i >= j:
            continue
        a, b = owners[texts[i]][0], owners[texts[j]][0]
        # Leakage is a sentence in two roles: the written and real train files are one pool.
        roles = {o.path.stem for o in owners[texts[i]] + owners[texts[j]]}
        if len(roles) == 1:
            continue
        key = (a.example.id, b.example.id)
        if key not in seen:
            seen.add(key)
            report.problems.append(
                f"{b.where()}: near-duplicate (similarity {score}) of {a.where()} in split "
                f"{a.split}"
            )
    for it in items:  # the same text in two roles (train and an evaluation split)
        splits = {o.split for o in owners[it.example.text]}
        roles = {o.path.stem for o in owners[it.example.text]}
        if len(roles) > 1 and owners[it.example.text][0] is it:
            report.problems.append(f"{it.where()}: the same sentence is in splits {sorted(splits)}")
    if not eval_items:
        return
    eval_texts = [e.example.text for e in eval_items]
    for i, j, score in near_duplicates(texts, eval_texts):
        for it in owners[texts[i]]:
            report.problems.append(
                f"{it.where()}: near-duplicate (similarity {score}) of evaluation item "
                f"{eval_items[j].where()}; add its id to data/real/excluded.jsonl"
            )


def check_balance(items: list[Located], min_share: float, report: CheckReport) -> None:
    """Each label's share of each corpus; a share below ``min_share`` is a problem."""
    for corpus in sorted({it.path.parent.name for it in items}):
        mine = [it.example for it in items if it.path.parent.name == corpus]
        for task, labels in (("stance", STANCE_LABELS), ("sentiment", SENTIMENT_LABELS)):
            counts = Counter(getattr(e, task) for e in mine)
            shares = {lab: counts[lab] / len(mine) for lab in labels}
            report.notes.append(
                f"{corpus} {task}: "
                + ", ".join(f"{k} {counts[k]} ({v:.0%})" for k, v in shares.items())
            )
            for lab, share in shares.items():
                if share < min_share:
                    report.problems.append(
                        f"label balance: {corpus} {task} {lab!r} is {share:.1%} of the corpus, "
                        f"below the minimum {min_share:.0%}"
                    )


def check_corpus(
    paths: list[Path], min_share: float = 0.05, eval_sets: list[Path] | None = None
) -> CheckReport:
    """Validate corpus files; ``eval_sets`` are labelled sets no item may nearly duplicate."""
    report = CheckReport()
    items = read_located(paths, report)
    eval_report = CheckReport()
    eval_items = read_located(list(eval_sets or []), eval_report)
    report.problems.extend(eval_report.problems)
    check_duplicates(items, report)
    check_near_duplicates(items, eval_items, report)
    if items:
        check_balance(items, min_share, report)
    return report
