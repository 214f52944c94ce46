"""The documents of ``stance classify-docs``: text files, folders, tables with a text column.

A ``.txt`` or ``.md`` file is one document; a folder gives its ``.txt`` and ``.md`` files,
recursively, in path order; a ``.csv``, ``.jsonl`` or ``.xlsx`` file gives one document a row, read
from its ``text`` column, with the other columns carried through; ``-`` is one document read from
standard input. A bad input (not UTF-8, empty, binary, too large, no ``text`` column) is yielded as
a ``Problem`` that names it and says why, and reading goes on with the next one.

Example:
    >>> for item in read_documents(input_files(["seeds", "articles.csv"])):
    ...     print(item.name)
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.schemas import MAX_DOCUMENT_CHARS

TEXT_SUFFIXES = (".txt", ".md")
TABLE_SUFFIXES = (".csv", ".jsonl", ".xlsx")
TEXT_COLUMN = "text"
STDIN = "<stdin>"
# UTF-8 takes at most 4 bytes a character: a larger file cannot be within the character limit.
MAX_FILE_BYTES = 4 * MAX_DOCUMENT_CHARS


@dataclass(frozen=True)
class Document:
    """One document: where it came from, its text, and the columns carried through."""

    name: str
    text: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """An input that cannot be scored, and why."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


Item = Document | Problem


def input_files(paths: Sequence[str]) -> list[Path | None]:
    """The files to read, in order (None: standard input); raise for a path that cannot be one."""
    files: list[Path | None] = []
    for raw in paths:
        if raw == "-":
            if None in files:
                raise ValueError("- (standard input) can be given only once")
            files.append(None)
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                f
                for f in path.rglob("*")
                if f.is_file()
                and f.suffix.lower() in TEXT_SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(path).parts)
            )
            if not found:
                raise FileNotFoundError(
                    f"{path} holds no .txt or .md files (folders are searched recursively)"
                )
            files.extend(found)
        elif path.is_file():
            if path.suffix.lower() not in TEXT_SUFFIXES + TABLE_SUFFIXES:
                raise ValueError(
                    f"{path}: expected a .txt, .md, .csv, .jsonl or .xlsx file, a folder, or -"
                )
            files.append(path)
        else:
            raise FileNotFoundError(
                f"{path} not found: expected a file, a folder, or - for standard input"
            )
    return files


def read_documents(files: Iterable[Path | None]) -> Iterator[Item]:
    """Every document of ``files``, or a Problem for each input that cannot be scored."""
    for path in files:
        if path is None:
            stdin = getattr(sys.stdin, "buffer", None)
            data = stdin.read() if stdin is not None else sys.stdin.read().encode("utf-8")
            yield text_document(STDIN, data)
        elif path.suffix.lower() in TEXT_SUFFIXES:
            yield read_text_file(path)
        else:
            yield from TABLE_READERS[path.suffix.lower()](path)


def problem_with(text: str) -> str | None:
    """Why ``text`` cannot be scored as a document (the limits of POST /classify_document)."""
    if not text.strip():
        return "empty: no text to score"
    if "\x00" in text:
        return "binary: it contains NUL bytes; expected UTF-8 text"
    if len(text) > MAX_DOCUMENT_CHARS:
        return (
            f"too large: {len(text)} characters; the limit is {MAX_DOCUMENT_CHARS} "
            "(as for POST /classify_document): split it"
        )
    return None


def text_document(name: str, data: bytes) -> Item:
    """A document from raw bytes, or the Problem with them."""
    if b"\x00" in data:
        return Problem(name, "binary: it contains NUL bytes; expected UTF-8 text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return Problem(name, f"not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8")
    reason = problem_with(text)
    return Problem(name, reason) if reason else Document(name, text)


def read_text_file(path: Path) -> Item:
    """A .txt or .md file as one document."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return Problem(
                str(path),
                f"too large: {size} bytes; the limit is {MAX_DOCUMENT_CHARS} characters "
                "(as for POST /classify_document): split it",
            )
        return text_document(str(path), path.read_bytes())
    except OSError as exc:
        return Problem(str(path), f"cannot be read ({exc.strerror})")


def no_text_column(found: Iterable[str], what: str) -> str:
    """The problem of a table without a text column, naming what it has instead."""
    names = ", ".join(repr(str(c)) for c in found) or "none"
    return f"has no {TEXT_COLUMN!r} {what}; found {what}s: {names}"


def row_document(name: str, record: dict[str, Any]) -> Item:
    """A table row as a document: its text, and the other columns carried through."""
    text = record.pop(TEXT_COLUMN)
    if text is None:
        text = ""
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str):
        return Problem(name, f"{TEXT_COLUMN!r} must be text, got {type(text).__name__}")
    reason = problem_with(text)
    return Problem(name, reason) if reason else Document(name, text, record)


def read_csv(path: Path) -> Iterator[Item]:
    """Rows of a CSV file with a header row; row numbers count the header as row 1."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FILE_BYTES))
    name = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                yield Problem(name, "empty: no header row")
                return
            if TEXT_COLUMN not in header:
                yield Problem(name, no_text_column(header, "column"))
                return
            for row_number, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    yield Problem(
                        f"{name}:{row_number}", f"has {len(row)} cells for {len(header)} columns"
                    )
                    continue
                yield row_document(f"{name}:{row_number}", dict(zip(header, row, strict=True)))
    except UnicodeDecodeError as exc:
        yield Problem(name, f"not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8")
    except csv.Error as exc:
        yield Problem(name, f"not a readable CSV file ({exc})")
    except OSError as exc:
        yield Problem(name, f"cannot be read ({exc.strerror})")


def read_jsonl(path: Path) -> Iterator[Item]:
    """Objects of a JSON Lines file, one a line; names carry the line number."""
    name = str(path)
    try:
        with path.open(encoding="utf-8-sig") as fh:
            for line_number, raw in enumerate(fh, start=1):
                where = f"{name}:{line_number}"
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError as exc:
                    yield Problem(where, f"not valid JSON ({exc.msg})")
                    continue
                if not isinstance(obj, dict):
                    yield Problem(where, 'expected an object like {"text": "..."}')
                elif TEXT_COLUMN not in obj:
                    yield Problem(where, no_text_column(obj, "field"))
                else:
                    yield row_document(where, obj)
    except UnicodeDecodeError as exc:
        yield Problem(name, f"not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8")
    except OSError as exc:
        yield Problem(name, f"cannot be read ({exc.strerror})")


def cell_value(value: Any) -> Any:
    """A spreadsheet cell as a plain value (dates as ISO 8601 text)."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value


def xlsx_rows(path: Path) -> Iterator[tuple[Any, ...]]:
    """The rows of the first sheet of a workbook; raise ValueError if it is not one."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        raise ValueError(f"not an .xlsx workbook ({exc})") from None
    try:
        yield from book.worksheets[0].iter_rows(values_only=True)
    finally:
        book.close()


def read_xlsx(path: Path) -> Iterator[Item]:
    """Rows of the first sheet of an .xlsx workbook, its first row naming the columns."""
    name = str(path)
    try:
        rows = xlsx_rows(path)
        first = next(rows, None)
        if first is None:
            yield Problem(name, "empty: the first sheet has no header row")
            return
        header = ["" if c is None else str(c) for c in first]
        if TEXT_COLUMN not in header:
            yield Problem(name, no_text_column([h for h in header if h], "column"))
            return
        for row_number, row in enumerate(rows, start=2):
            if all(v is None or str(v).strip() == "" for v in row):
                continue
            record = {h: cell_value(v) for h, v in zip(header, row, strict=False) if h}
            record.setdefault(TEXT_COLUMN, None)
            yield row_document(f"{name}:{row_number}", record)
    except ValueError as exc:
        yield Problem(name, str(exc))
    except OSError as exc:
        yield Problem(name, f"cannot be read ({exc.strerror})")


TABLE_READERS = {".csv": read_csv, ".jsonl": read_jsonl, ".xlsx": read_xlsx}


def carried_columns(files: Iterable[Path | None]) -> list[str]:
    """The columns other than ``text`` of every table, in first-seen order.

    A first pass over the tables, so that a CSV output can write its header first.
    """
    seen: dict[str, None] = {}
    for path in files:
        if path is None or path.suffix.lower() in TEXT_SUFFIXES:
            continue
        for item in TABLE_READERS[path.suffix.lower()](path):
            if isinstance(item, Document):
                seen.update(dict.fromkeys(item.extra))
    return list(seen)
