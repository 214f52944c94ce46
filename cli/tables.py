"""The output table of ``stance classify-docs``: one schema, written as CSV, JSON Lines or .xlsx.

Every row has the columns of ``COLUMNS``, then the input columns carried through. A row is either
a sentence (``kind`` = sentence: its index, character offsets, text, stance and sentiment with
their calibrated scores, windows) or a document's summary for one target (``kind`` = document:
the document's stance and its confidence, the stance and sentiment distributions in the score
columns, the indexes of the evidence sentences). CSV and JSON Lines stream a row at a time; .xlsx
is written row by row (openpyxl's write-only mode) and saved at the end.

Example:
    >>> with open_table(Path("out.xlsx"), "xlsx", ["outlet"]) as table:
    ...     table.write({"document": "a.txt", "kind": "sentence", ...})
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from cli.common import open_output

logger = logging.getLogger(__name__)

FORMATS = ("csv", "jsonl", "xlsx")
COLUMNS = (
    "document", "kind", "target", "sentence", "start", "end", "text",
    "stance", "confidence", "stance_favor", "stance_against", "stance_none",
    "sentiment", "sentiment_positive", "sentiment_negative", "sentiment_neutral",
    "windows", "evidence", "model",
)  # fmt: skip
XLSX_CELL_CHARS = 32_767  # the most characters an Excel cell holds


def output_names(carried: Sequence[str]) -> dict[str, str]:
    """Output column of each carried input column: its own name, or input_<name> on a clash."""
    names: dict[str, str] = {}
    for column in carried:
        name = column if column not in COLUMNS else f"input_{column}"
        while name in COLUMNS or name in names.values():
            name = f"input_{name}"
        names[column] = name
    return names


def flat(value: Any) -> Any:
    """A value for a flat cell: lists as space-separated text, objects as JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return " ".join(str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


class Table(Protocol):
    """Where rows go."""

    def write(self, row: dict[str, Any]) -> None:
        """Write one row (keys: COLUMNS and the output names of the carried columns)."""
        ...

    def flush(self) -> None:
        """Push what is written so far to its reader (after each document)."""
        ...


class CsvTable:
    """RFC 4180 CSV with a header row."""

    def __init__(self, fh: IO[str], columns: Sequence[str]) -> None:
        self.fh = fh
        self.columns = list(columns)
        self.writer = csv.writer(fh)
        self.writer.writerow(self.columns)

    def write(self, row: dict[str, Any]) -> None:
        """Write one row."""
        self.writer.writerow([flat(row.get(c)) for c in self.columns])

    def flush(self) -> None:
        """Flush the file."""
        self.fh.flush()


class JsonlTable:
    """One JSON object a line, with every column (null where a row has no value)."""

    def __init__(self, fh: IO[str], columns: Sequence[str]) -> None:
        self.fh = fh
        self.columns = list(columns)

    def write(self, row: dict[str, Any]) -> None:
        """Write one row."""
        obj = {c: row.get(c) for c in self.columns}
        self.fh.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")

    def flush(self) -> None:
        """Flush the file."""
        self.fh.flush()


class XlsxTable:
    """One sheet, ``stance``, in a workbook written row by row."""

    def __init__(self, columns: Sequence[str]) -> None:
        from openpyxl import Workbook

        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet("stance")
        self.columns = list(columns)
        self.sheet.append(self.columns)

    def cell(self, value: Any) -> Any:
        """A cell; text that starts with = stays text, not a formula.

        Characters a workbook cannot hold become U+FFFD; text beyond Excel's cell size is cut,
        with a warning.
        """
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        value = flat(value)
        if not isinstance(value, str):
            return value
        clean = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
        if len(clean) > XLSX_CELL_CHARS:
            logger.warning(
                "a cell of %d characters is cut to Excel's %d", len(clean), XLSX_CELL_CHARS
            )
            clean = clean[:XLSX_CELL_CHARS]
        cell = WriteOnlyCell(self.sheet, clean)
        cell.data_type = "s"
        return cell

    def write(self, row: dict[str, Any]) -> None:
        """Write one row."""
        self.sheet.append([self.cell(row.get(c)) for c in self.columns])

    def flush(self) -> None:
        """Nothing to flush: the workbook is saved when the table closes."""

    def save(self, path: Path) -> None:
        """Save beside ``path`` and move into place."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        self.book.save(tmp)
        tmp.replace(path)


def output_format(fmt: str | None, output: Path | None) -> str:
    """--format, else the suffix of --output when it is a known format, else csv."""
    if fmt is None:
        suffix = output.suffix.lower().lstrip(".") if output is not None else ""
        fmt = suffix if suffix in FORMATS else "csv"
    if fmt == "xlsx" and (output is None or str(output) == "-"):
        raise ValueError("--format xlsx writes a workbook, not text: give --output FILE.xlsx")
    return fmt


@contextmanager
def open_table(output: Path | None, fmt: str, extra: Sequence[str]) -> Iterator[Table]:
    """A table of ``fmt`` with COLUMNS, then ``extra``, on ``output`` (None or -: stdout).

    A file is written beside ``output`` and moved into place when the block ends.
    """
    columns = [*COLUMNS, *extra]
    if fmt == "xlsx":
        if output is None or str(output) == "-":
            raise ValueError("--format xlsx writes a workbook, not text: give --output FILE.xlsx")
        table = XlsxTable(columns)
        yield table
        table.save(output)
        return
    with open_output(output) as fh:
        yield CsvTable(fh, columns) if fmt == "csv" else JsonlTable(fh, columns)
