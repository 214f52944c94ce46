"""What several commands share: model options, streaming JSON Lines in and out."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from model.predictor import Classifier

BACKENDS = ("transformer", "baseline")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def add_model_args(p: argparse.ArgumentParser, both: bool = False) -> None:
    """--backend and --model."""
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
        help="BentoML store tag (default: stance-classifier:latest) or an artifact folder",
    )


def load_model(
    backend: str, model: str | None, runtime: str | None = None
) -> tuple[Classifier, str]:
    """The classifier of ``backend`` in a stored model or folder, and the model's name."""
    from model import load_classifier
    from service.store import resolve_model

    folder, name = resolve_model(model, backend)
    return load_classifier(folder, runtime), name


@contextmanager
def open_input(path: Path) -> Iterator[IO[str]]:
    """A text file to read, or standard input for ``-``; a clear error when it cannot be read."""
    if str(path) == "-":
        yield sys.stdin
        return
    if not path.is_file():
        raise FileNotFoundError(f"input file {path} not found")
    try:
        with path.open(encoding="utf-8") as fh:
            yield fh
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


@contextmanager
def open_output(path: Path | None) -> Iterator[IO[str]]:
    """Standard output for None or ``-``; else a file written beside and moved into place."""
    if path is None or str(path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        yield fh
    tmp.replace(path)


def json_line(row: dict[str, Any]) -> str:
    """One output row as the JSON Lines text every engine writes."""
    return json.dumps(row, ensure_ascii=False)


def parse_item(raw: str) -> tuple[dict[str, Any] | None, str]:
    """One input line as (object, "") or (None, what is wrong with it); every engine uses this."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg})"
    if not isinstance(obj, dict):
        return None, 'expected an object like {"text": "..."}'
    text, target, context = obj.get("text"), obj.get("target"), obj.get("context")
    if not isinstance(text, str) or not text.strip():
        return None, "field 'text' must be a non-empty string"
    if target is not None and (not isinstance(target, str) or not target.strip()):
        return None, "field 'target' must be a non-empty string when given"
    if context is not None and not isinstance(context, str):
        return None, "field 'context' must be a string or null"
    return obj, ""


def read_jsonl_items(fh: IO[str], name: str) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """Yield (line number, object, "") or (line number, None, problem) per non-blank line."""
    for lineno, raw in enumerate(fh, start=1):
        if not raw.strip():
            continue
        obj, problem = parse_item(raw)
        yield lineno, obj, f"{name}:{lineno}: {problem}" if problem else ""
