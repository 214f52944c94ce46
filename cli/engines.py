"""Batch scoring on Ray Data: the engine behind ``--engine ray``, for any command that scores rows.

The input (a JSON Lines file, a folder of them, or any URI Ray reads) is read by Ray Data, each
line with its file and line number. A first pass checks every line with the parser the local
engine uses and fails the job, naming each bad line, before any model is loaded. Then
``map_batches`` runs ``Scorer``, a callable class: each actor loads the artifact once (shipped
through Ray's object store, so no node needs a copy of it), on the runtime the model serves, with
as many ONNX Runtime threads as the actor has CPUs, and turns each batch of rows into output rows
with the command's row function, the one its local engine calls. Output: one JSONL file (or
standard output) in input order, streamed through the driver, or Parquet shards written by the
workers.

Example:
    stance predict --engine ray --input speeches/ --output scores.parquet --cpus-per-actor 2
    stance predict --engine ray --address auto --input in.jsonl --output out.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.common import json_line, open_output, parse_item
from cli.ray_io import ShippedModel, check_lines, columns_of, pack_model, parquet_table, read_lines
from model.artifact import check_artifact, served_files

if TYPE_CHECKING:
    import pyarrow
    import ray.data

    from model.predictor import Classifier

logger = logging.getLogger(__name__)

ENGINES = ("local", "ray")
INSTALL_HINT = "pip install -e '.[scale]' (or pip install 'stance-service[scale]')"
RowFunction = Callable[["Classifier", str, list[dict[str, Any]], str], list[dict[str, Any]]]
RAY_ONLY = ("address", "actors", "cpus_per_actor")


def add_engine_args(p: argparse.ArgumentParser) -> None:
    """--engine, --address, --actors, --cpus-per-actor, --batch-size."""
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="local: this process, streaming, a bad line skipped (exit 1); ray: Ray Data actors "
        "on a local Ray instance or the cluster at --address, every line checked first, a bad "
        f"line fails the job before any scoring (needs {INSTALL_HINT}) (default: %(default)s)",
    )
    p.add_argument(
        "--address",
        default=None,
        help="with --engine ray: the Ray cluster to join (auto, HOST:PORT or ray://HOST:10001); "
        "default: start a local Ray instance on this machine's CPUs",
    )
    p.add_argument(
        "--actors",
        type=int,
        default=None,
        help="with --engine ray: scoring actors, each loading the model once (default: as many "
        "as the cluster's CPUs allow)",
    )
    p.add_argument(
        "--cpus-per-actor",
        type=int,
        default=None,
        help="with --engine ray: CPUs each actor reserves, also its ONNX Runtime threads "
        "(default: 1)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=256,
        help="rows scored in one call, on either engine (default: %(default)s)",
    )


def check_engine_args(args: argparse.Namespace) -> None:
    """Raise ValueError for engine options that do not fit together."""
    given = [f"--{k.replace('_', '-')}" for k in RAY_ONLY if getattr(args, k) is not None]
    if args.engine != "ray" and given:
        raise ValueError(f"{' and '.join(given)}: only with --engine ray")
    for key in ("actors", "cpus_per_actor", "batch_size"):
        value = getattr(args, key)
        if value is not None and value < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be at least 1, got {value}")
    if args.engine == "ray" and (args.input is None or str(args.input) == "-"):
        raise ValueError(
            "--engine ray reads --input: a JSONL file, a folder of them or a URI Ray reads "
            "(sentences as arguments and standard input run on the local engine)"
        )


@dataclass(frozen=True)
class RayJob:
    """One batch job: what to read, the model, how rows become output rows, where they go."""

    input: str
    output: str | None
    folder: Path
    name: str
    rows: RowFunction
    default_target: str | None = None
    runtime: str | None = None
    address: str | None = None
    actors: int | None = None
    cpus_per_actor: int | None = None
    batch_size: int = 256


@dataclass(frozen=True)
class RayOutcome:
    """What a job did: rows written and where, or the bad lines that stopped it."""

    written: int
    where: str
    bad_lines: int
    problems: list[str]


def require_ray() -> None:
    """Raise ValueError, saying how to install it, when Ray Data is not importable."""
    try:
        import ray.data  # noqa: F401
    except ImportError:
        raise ValueError(
            f"--engine ray needs Ray, which is not installed: {INSTALL_HINT}"
        ) from None


def is_uri(path: str) -> bool:
    """True for ``scheme://...`` inputs and outputs (s3://, gs://, local://, ...)."""
    return "://" in path


def parquet_output(output: str | None) -> bool:
    """True when ``output`` names Parquet shards: ``*.parquet``, an existing folder, or ``.../``."""
    if output is None or output == "-":
        return False
    return output.endswith((".parquet", "/")) or (not is_uri(output) and Path(output).is_dir())


def check_paths(job: RayJob) -> None:
    """Fail before Ray starts: a local input must exist, local Parquet shards need a new folder."""
    if not is_uri(job.input) and not Path(job.input).exists():
        raise FileNotFoundError(
            f"input {job.input} not found: give a JSONL file, a folder of them or a URI Ray reads"
        )
    out = job.output
    if out and is_uri(out) and not parquet_output(out):
        raise ValueError(
            f"output {out} is a URI: the workers write it as Parquet shards, so end it in .parquet"
        )
    if out and parquet_output(out) and not is_uri(out) and Path(out).is_dir():
        if any(Path(out).iterdir()):
            raise ValueError(
                f"output folder {out} is not empty: name a new folder for the Parquet shards"
            )


class Scorer:
    """The per-actor callable of ``map_batches``: loads the model once, scores batches of lines."""

    def __init__(
        self,
        model: ShippedModel,
        rows: RowFunction,
        name: str,
        default_target: str | None,
        runtime: str | None,
        threads: int,
        fields: dict[str, str] | None,
    ) -> None:
        import torch

        from model import load_classifier

        torch.set_num_threads(threads)  # the torch runtime; ONNX Runtime takes threads below
        self.clf = load_classifier(model.unpack(), runtime, threads=threads)
        self.rows, self.name, self.fields = rows, name, fields
        self.default = default_target or self.clf.config.default_target

    def __call__(self, batch: pyarrow.Table) -> pyarrow.Table:
        """Output rows for one batch: JSON Lines text, or typed columns for Parquet."""
        import pyarrow as pa

        items = []
        for path, line, raw in columns_of(batch):
            obj, problem = parse_item(raw) if raw is not None else (None, "not UTF-8 text")
            if obj is None:
                raise ValueError(f"{path}:{line}: {problem} (the input changed after its check)")
            items.append(obj)
        out = self.rows(self.clf, self.name, items, self.default)
        if self.fields is not None:
            return parquet_table(out, self.fields)
        return pa.table({"json": [json_line(row) for row in out]})


def start_ray(address: str | None) -> bool:
    """Join ``address`` or start a local Ray instance; False when this process already had one."""
    import ray

    if ray.is_initialized():
        return False
    try:
        if address is None:
            ray.init(include_dashboard=False, logging_level=logging.WARNING)
        else:
            ray.init(address=address, logging_level=logging.WARNING)
    except ConnectionError as exc:
        raise ValueError(f"cannot join the Ray cluster at {address}: {exc}") from None
    return True


def plan_actors(job: RayJob) -> tuple[int, int]:
    """(actors, CPUs each) that fit the cluster; ValueError when they cannot."""
    import ray

    cpus = int(ray.cluster_resources().get("CPU", 0))  # type: ignore[no-untyped-call]
    each = job.cpus_per_actor or 1
    most = cpus // each
    if most < 1:
        raise ValueError(f"--cpus-per-actor {each} is more than the Ray cluster's {cpus} CPUs")
    actors = job.actors or most
    if actors > most:
        raise ValueError(
            f"--actors {actors} with --cpus-per-actor {each} need {actors * each} CPUs; the Ray "
            f"cluster has {cpus}: lower either"
        )
    return actors, each


def run_ray(job: RayJob) -> RayOutcome:
    """Run ``job`` on Ray Data; bad input lines stop it before any actor starts."""
    require_ray()
    config = check_artifact(job.folder, job.runtime)
    check_paths(job)
    started = start_ray(job.address)
    if not logging.getLogger("cli").isEnabledFor(logging.DEBUG):
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # its progress lines, per op
    try:
        return score(job, served_files(config, job.runtime))
    finally:
        if started:
            import ray

            ray.shutdown()


def score(job: RayJob, files: tuple[str, ...]) -> RayOutcome:
    """Check every line, then score them with ``Scorer`` actors and write the answers."""
    import ray
    import ray.data

    parquet = parquet_output(job.output)
    where = str(job.output) if job.output not in (None, "-") else "standard output"
    context = ray.data.DataContext.get_current()
    ordered = context.execution_options.preserve_order
    # One JSONL file is written in input order, as the local engine writes it; shards need not be.
    context.execution_options.preserve_order = not parquet
    try:
        lines = read_lines(job.input)
        display = {} if is_uri(job.input) else {str(Path(job.input).resolve()): job.input}
        check = check_lines(lines, display)
        if check.bad:
            return RayOutcome(0, where, check.bad, check.problems)
        actors, each = plan_actors(job)
        data = pack_model(job.folder, files)
        shipped = ShippedModel(hashlib.sha256(data).hexdigest()[:16], [ray.put(data)])
        logger.info("scoring %d lines on %d Ray actors of %d CPUs", check.good, actors, each)
        args = (shipped, job.rows, job.name, job.default_target, job.runtime, each)
        scored = lines.map_batches(
            Scorer,
            fn_constructor_args=(*args, check.fields if parquet else None),
            batch_size=job.batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=each,
        )
        if parquet:
            scored.write_parquet(str(job.output))
            return RayOutcome(check.good, where, 0, [])
        return RayOutcome(write_jsonl(scored, job.output), where, 0, [])
    finally:
        context.execution_options.preserve_order = ordered


def write_jsonl(scored: ray.data.Dataset, output: str | None) -> int:
    """Stream the scored rows through the driver into one JSONL file; return how many."""
    n = 0
    with open_output(None if output is None else Path(output)) as out:
        for batch in scored.iter_batches(batch_size=None, batch_format="pyarrow"):
            table: pyarrow.Table = batch
            lines = table.column("json").to_pylist()
            out.write("".join(line + "\n" for line in lines))
            n += len(lines)
    return n
