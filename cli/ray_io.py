"""What the Ray engine (``cli.engines``) reads, checks, ships and writes, apart from scoring.

Lines: a JSON Lines datasource for Ray Data that keeps every line's file and line number, and a
check of every line with the local engine's parser (``cli.common.parse_item``) that also learns
each input field's type. Model: an artifact's served files as one tar in Ray's object store,
unpacked once per node. Parquet: every shard gets the same columns and types, whatever fields
the lines of its batch happen to carry.

Example:
    stance predict --engine ray --input speeches/ --output scores.parquet
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.common import parse_item

if TYPE_CHECKING:
    import pyarrow
    import ray.data

MAX_REPORTED = 100
LINES_PER_BLOCK = 10_000
# Parquet type of an input field by the JSON types its values take (nulls aside); any other mix,
# and objects or arrays, are kept as their JSON text.
FIELD_TYPES = {
    frozenset({"str"}): "string",
    frozenset({"int"}): "int64",
    frozenset({"float"}): "float64",
    frozenset({"int", "float"}): "float64",
    frozenset({"bool"}): "bool",
}


def lines_source(paths: str, directory: bool) -> Any:
    r"""A Ray ``FileBasedDatasource`` of (path, line, raw): every non-blank line, numbered.

    A folder is read for its .jsonl and .json files. ``raw`` is None for a line that is not
    UTF-8. Lines split as the local engine's text-mode reading splits them (\n, \r, \r\n).
    """
    import pyarrow as pa
    from ray.data.datasource import FileBasedDatasource

    class Lines(FileBasedDatasource):
        def _read_stream(self, f: Any, path: str) -> Iterator[pa.Table]:
            rows: dict[str, list[Any]] = {"path": [], "line": [], "raw": []}
            for lineno, data in enumerate(f.readall().splitlines(), start=1):
                try:
                    raw: str | None = data.decode("utf-8")
                except UnicodeDecodeError:
                    raw = None
                if raw is not None and not raw.strip():
                    continue
                for key, value in zip(rows, (path, lineno, raw), strict=True):
                    rows[key].append(value)
                if len(rows["raw"]) == LINES_PER_BLOCK:
                    yield pa.table(rows)
                    rows = {k: [] for k in rows}
            if rows["raw"]:
                yield pa.table(rows)

    return Lines(paths, file_extensions=["jsonl", "json"] if directory else None)


def read_lines(source: str) -> ray.data.Dataset:
    """The lines of ``source`` (file, folder or URI) as a Dataset; read tasks hold no CPU slot."""
    import ray.data

    directory = "://" not in source and Path(source).is_dir()
    # The scoring actors hold every CPU slot; the reads that feed them must still be scheduled.
    lines: ray.data.Dataset = ray.data.read_datasource(lines_source(source, directory), num_cpus=0)
    return lines


def columns_of(batch: pyarrow.Table) -> Iterator[tuple[str, int, str | None]]:
    """(path, line, raw) of each row of a batch of lines."""
    yield from zip(*(batch.column(c).to_pylist() for c in ("path", "line", "raw")), strict=True)


def line_problems(batch: pyarrow.Table) -> pyarrow.Table:
    """One row per bad line, and a last row with the good lines' count and field types."""
    import pyarrow as pa

    out: dict[str, list[Any]] = {"path": [], "line": [], "problem": [], "good": [], "fields": []}
    good, fields = 0, dict[str, set[str]]()
    for path, line, raw in columns_of(batch):
        obj, problem = parse_item(raw) if raw is not None else (None, "not UTF-8 text")
        if obj is None:
            for key, value in zip(out, (path, line, problem, 0, ""), strict=True):
                out[key].append(value)
            continue
        good += 1
        for key, value in obj.items():
            fields.setdefault(key, set()).add(type(value).__name__)
    summary = json.dumps({k: sorted(v) for k, v in fields.items()})
    for key, value in zip(out, ("", 0, "", good, summary), strict=True):
        out[key].append(value)
    return pa.table(out)


@dataclass(frozen=True)
class LineCheck:
    """What the check pass found: good lines, bad ones, and the input fields' Parquet types."""

    good: int
    bad: int
    problems: list[str]  # the first MAX_REPORTED as "file:line: problem", in file and line order
    fields: dict[str, str]  # input field -> string, int64, float64, bool or json, first seen first


def check_lines(lines: ray.data.Dataset, display: dict[str, str]) -> LineCheck:
    """Check every line (Ray tasks, no model); ``display`` renames paths in the messages."""
    checked = lines.map_batches(line_problems, batch_format="pyarrow", batch_size=4096)
    good, bad, seen = 0, [], dict[str, set[str]]()
    for batch in checked.iter_batches(batch_size=None, batch_format="pyarrow"):
        table: pyarrow.Table = batch
        for row in table.to_pylist():
            if row["problem"]:
                bad.append((row["path"], row["line"], row["problem"]))
                continue
            good += row["good"]
            for key, types in json.loads(row["fields"]).items():
                seen.setdefault(key, set()).update(types)
    bad.sort()
    shown = [f"{display.get(p, p)}:{n}: {what}" for p, n, what in bad[:MAX_REPORTED]]
    fields = {k: FIELD_TYPES.get(frozenset(t - {"NoneType"}), "json") for k, t in seen.items()}
    return LineCheck(good, len(bad), shown, fields)


def parquet_table(rows: list[dict[str, Any]], fields: dict[str, str]) -> pyarrow.Table:
    """Output rows as a table whose input fields have the types of ``fields`` in every shard.

    The row function's own fields (labels, scores, windows, model) are typed by their values,
    which its code always gives the same types.
    """
    import pyarrow as pa

    arrays: dict[str, Any] = {}
    for key, kind in fields.items():
        values = [row.get(key) for row in rows]
        if kind == "json":
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
        arrow = pa.string() if kind == "json" else pa.type_for_alias(kind)
        arrays[key] = pa.array(values, type=arrow)
    for key in rows[0] if rows else ():
        if key not in arrays:
            arrays[key] = pa.array([row.get(key) for row in rows])
    return pa.table(arrays)


@dataclass(frozen=True)
class ShippedModel:
    """An artifact's served files as a tar in Ray's object store, named by their hash."""

    digest: str
    ref: list[Any]  # [ObjectRef]: nested, so the actor fetches it when it unpacks

    def unpack(self) -> Path:
        """The artifact folder on this node: unpacked once per node, then reused."""
        import ray

        target = Path(tempfile.gettempdir()) / "stance-models" / self.digest
        if (target / "config.json").is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{self.digest}-", dir=target.parent))
        with tarfile.open(fileobj=io.BytesIO(ray.get(self.ref[0]))) as tar:
            tar.extractall(staging, filter="data")
        try:
            staging.rename(target)
        except OSError:  # another actor on this node unpacked it first
            shutil.rmtree(staging, ignore_errors=True)
        return target


def pack_model(folder: Path, files: tuple[str, ...]) -> bytes:
    """A tar of ``files`` (files or folders) inside ``folder``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in files:
            tar.add(folder / name, arcname=name)
    return buf.getvalue()
