"""Reading and checking corpus files (JSON Lines, the format of ANNOTATION_GUIDELINES.md).

Example:
    >>> read_examples("data/real/validation.jsonl")[0].target
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.labels import SENTIMENT_LABELS, STANCE_LABELS

REQUIRED = ("id", "text", "target", "stance", "sentiment", "doc_id")


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
    speaker: str = ""
    # False when the sentence itself never names the sanctions (only its neighbours do).
    refers: bool | None = None


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
    refers = obj.get("refers")
    if refers is not None and not isinstance(refers, bool):
        problems.append(_problem(path, lineno, "field 'refers' must be true, false or absent"))
    if obj.get("relevant", True) is not True:
        problems.append(
            _problem(path, lineno, "an out-of-scope item (relevant: false) is in a split file")
        )
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
            speaker=str(obj.get("speaker") or ""),
            refers=refers,
        ),
        [],
    )


def parsed_lines(path: Path) -> Iterator[tuple[int, Example | None, list[str]]]:
    """Yield (line number, example or None, problems) for each non-blank line of ``path``."""
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if raw.strip():
                yield (lineno, *parse_line(raw, path, lineno))


def json_objects(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a bad line is a ValueError naming it."""
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise ValueError(f"{path}:{lineno}: expected a JSON object per line")
        yield lineno, obj


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


def docs_of(examples: list[Example]) -> dict[str, list[int]]:
    """Map doc_id to the indices of its items (for document-level resampling)."""
    out: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(examples):
        out[ex.doc_id].append(i)
    return out
