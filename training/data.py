"""Reading and checking corpus files (JSON Lines, the format of ANNOTATION_GUIDELINES.md).

Example:
    stance data check data/
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from model.labels import SENTIMENT_LABELS, STANCE_LABELS

REQUIRED = ("id", "text", "target", "stance", "sentiment", "doc_id")
SPLIT_FILES = ("train", "validation", "test", "test_out_of_regime")


@dataclass(frozen=True)
class Example:
    """One labelled item."""

    id: str
    text: str
    target: str
    stance: str
    sentiment: str
    doc_id: str
    context: str | None = None
    source: str = ""
    regime: str = ""
    year: int | None = None


def _problem(path: Path, lineno: int, msg: str) -> str:
    return f"{path}:{lineno}: {msg}"


def parse_line(raw: str, path: Path, lineno: int) -> tuple[Example | None, list[str]]:
    """Parse one JSON line into an Example, or return the problems found."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, [_problem(path, lineno, f"not valid JSON ({exc.msg})")]
    if not isinstance(obj, dict):
        return None, [_problem(path, lineno, "expected a JSON object per line")]
    problems = []
    for key in REQUIRED:
        value = obj.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(_problem(path, lineno, f"field {key!r} must be a non-empty string"))
    if problems:
        return None, problems
    if obj["stance"] not in STANCE_LABELS:
        problems.append(
            _problem(path, lineno, f"stance {obj['stance']!r} not in {list(STANCE_LABELS)}")
        )
    if obj["sentiment"] not in SENTIMENT_LABELS:
        problems.append(
            _problem(
                path, lineno, f"sentiment {obj['sentiment']!r} not in {list(SENTIMENT_LABELS)}"
            )
        )
    context = obj.get("context")
    if context is not None and not isinstance(context, str):
        problems.append(_problem(path, lineno, "field 'context' must be a string or null"))
    if problems:
        return None, problems
    year = obj.get("year")
    return (
        Example(
            id=obj["id"],
            text=obj["text"],
            target=obj["target"],
            stance=obj["stance"],
            sentiment=obj["sentiment"],
            doc_id=obj["doc_id"],
            context=context,
            source=str(obj.get("source") or ""),
            regime=str(obj.get("regime") or ""),
            year=year if isinstance(year, int) else None,
        ),
        [],
    )


def parsed_lines(path: Path) -> Iterator[tuple[int, Example | None, list[str]]]:
    """Yield (line number, example or None, problems) for each non-blank line of ``path``."""
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.strip():
                yield (lineno, *parse_line(raw, path, lineno))


def read_examples(path: str | Path) -> list[Example]:
    """Read a corpus file; raise ValueError listing every malformed line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"corpus file {path} not found")
    examples, problems = [], []
    for _, ex, errs in parsed_lines(path):
        problems.extend(errs)
        if ex is not None:
            examples.append(ex)
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise ValueError(f"{len(problems)} problem(s) in {path}:\n  {shown}{more}")
    if not examples:
        raise ValueError(f"corpus file {path} holds no examples")
    return examples


def file_hash(*paths: Path) -> str:
    """Return a short sha256 over the bytes of ``paths`` (the data hash stored with a model)."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def normalise(text: str) -> str:
    """Lower-case, NFKC, letters and digits only: the key for near-duplicate detection."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[^\w]+", " ", text).strip()


@dataclass
class CheckReport:
    """Outcome of ``check_corpus``: problems fail the check, notes are informative."""

    problems: list[str]
    notes: list[str]

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def check_corpus(paths: list[Path], min_share: float = 0.15) -> CheckReport:
    """Validate corpus files: fields, labels, duplicates, cross-split leakage, label balance."""
    problems: list[str] = []
    notes: list[str] = []
    split_of_doc: dict[str, str] = {}
    split_of_text: dict[str, str] = {}
    stance, sentiment = Counter[str](), Counter[str]()
    for path in paths:
        split = path.stem
        seen_pairs: dict[tuple[str, str], int] = {}
        ids: set[str] = set()
        n = 0
        for lineno, ex, errs in parsed_lines(path):
            problems.extend(errs)
            if ex is None:
                continue
            n += 1
            stance[ex.stance] += 1
            sentiment[ex.sentiment] += 1
            if ex.id in ids:
                problems.append(_problem(path, lineno, f"duplicate id {ex.id!r}"))
            ids.add(ex.id)
            key = (normalise(ex.text), ex.target.lower().strip())
            if key in seen_pairs:
                problems.append(
                    _problem(
                        path,
                        lineno,
                        f"duplicate text for the same target (first at line {seen_pairs[key]})",
                    )
                )
            seen_pairs[key] = lineno
            other = split_of_doc.setdefault(ex.doc_id, split)
            if other != split:
                problems.append(
                    _problem(path, lineno, f"document {ex.doc_id!r} is also in split {other!r}")
                )
            norm = normalise(ex.text)
            other = split_of_text.setdefault(norm, split)
            if other != split:
                problems.append(
                    _problem(path, lineno, f"near-duplicate of a sentence in split {other!r}")
                )
        notes.append(f"{path}: {n} items")
    total = sum(stance.values())
    for name, counts, labels in (
        ("stance", stance, STANCE_LABELS),
        ("sentiment", sentiment, SENTIMENT_LABELS),
    ):
        shares = {lab: counts[lab] / total if total else 0.0 for lab in labels}
        notes.append(
            f"{name}: " + ", ".join(f"{k} {counts[k]} ({v:.0%})" for k, v in shares.items())
        )
        for lab, share in shares.items():
            if share < min_share:
                problems.append(
                    f"label balance: {name} {lab!r} is {share:.1%} of the corpus, "
                    f"below the minimum {min_share:.0%}"
                )
    return CheckReport(problems=problems, notes=notes)


def corpus_files(target: Path) -> list[Path]:
    """Return the split files of a corpus folder, or the single file given."""
    if target.is_file():
        return [target]
    if not target.is_dir():
        raise FileNotFoundError(f"{target} is neither a corpus file nor a folder")
    files = [target / f"{s}.jsonl" for s in SPLIT_FILES if (target / f"{s}.jsonl").is_file()]
    if not files:
        raise FileNotFoundError(
            f"no split files in {target}: expected some of "
            + ", ".join(f"{s}.jsonl" for s in SPLIT_FILES)
        )
    return files


def docs_of(examples: list[Example]) -> dict[str, list[int]]:
    """Map doc_id to the indices of its items (for document-level resampling)."""
    out: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        out[ex.doc_id].append(i)
    return out
