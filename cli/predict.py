"""``stance predict``: sentences from arguments, a JSON Lines file or standard input.

Output streams as JSON Lines, one object per input line: the input's fields, then the target,
both labels with their calibrated scores, the windows a long sentence took, and the model. A bad
input line is reported on stderr with its line number; the others are still classified, and the
exit code is 1. ``--engine ray`` runs the same rows through Ray Data actors (``cli.engines``): a
local Ray instance, or a cluster with ``--address``; there a bad line fails the job before any
sentence is scored.

Example:
    stance predict --input in.jsonl --output out.jsonl --target "US sanctions"
    stance predict --engine ray --input speeches/ --output scores.parquet
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tqdm.auto import tqdm

from cli.common import (
    add_model_args,
    json_line,
    load_model,
    open_input,
    open_output,
    read_jsonl_items,
)
from cli.engines import RayJob, add_engine_args, check_engine_args, require_ray, run_ray
from model.artifact import RUNTIME_CHOICES
from model.predictor import Classifier


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register predict."""
    p = sub.add_parser("predict", help="classify sentences from arguments or a JSONL file")
    p.add_argument("sentences", nargs="*", help="sentences to classify (instead of --input)")
    p.add_argument(
        "--input",
        help='JSONL file (or - for stdin), one {"text": ..., "target"?: ..., "context"?: ...} '
        "a line; with --engine ray also a folder of *.jsonl/*.json files or any URI Ray reads",
    )
    p.add_argument(
        "--output",
        help="where the answers go: a JSONL file, in input order (default, or -: standard "
        "output); with --engine ray, a path ending in .parquet or an existing folder (or one "
        "ending in /) gets Parquet shards written by the workers instead",
    )
    p.add_argument(
        "--target",
        default=None,
        help="target for lines without their own (default: the model's default target)",
    )
    add_model_args(p)
    p.add_argument(
        "--runtime",
        choices=RUNTIME_CHOICES,
        default=None,
        help="the transformer's runtime (default: the one the model was stored with); int8 "
        "quantises each batch's activations with one scale, so its scores can move a little with "
        "the sentences that share a batch; onnx-fp32 answers the same on every batching",
    )
    add_engine_args(p)
    p.set_defaults(func=cmd_predict)


def rows_of(
    args: argparse.Namespace, fh: IO[str] | None, problems: list[str]
) -> Iterator[dict[str, Any]]:
    """Input rows; bad lines go to ``problems`` and are skipped."""
    if fh is None:
        yield from ({"text": s} for s in args.sentences if s.strip())
        return
    for _, obj, problem in read_jsonl_items(fh, str(args.input)):
        if obj is None:
            problems.append(problem)
            print(f"error: {problem}", file=sys.stderr)
        else:
            yield obj


def chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    """Lists of up to ``size`` rows, as they arrive."""
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def predict_rows(
    clf: Classifier, name: str, rows: list[dict[str, Any]], default: str
) -> list[dict[str, Any]]:
    """Output rows for one batch of input rows; the local engine and every Ray actor call this.

    Each is the input row, then its target (the row's own, else ``default``), both labels with
    their scores, the windows the sentence took and the model's name.
    """
    targets = [r.get("target") or default for r in rows]
    preds = clf.predict([r["text"] for r in rows], targets, [r.get("context") for r in rows])
    return [
        row | {"target": t} | p.as_dict() | {"model": name}
        for row, t, p in zip(rows, targets, preds, strict=True)
    ]


def check_args(args: argparse.Namespace) -> None:
    """Raise ValueError for a combination of options that cannot run."""
    if args.input is None and not args.sentences:
        raise ValueError("give sentences as arguments or --input FILE.jsonl (- for stdin)")
    if args.input is not None and args.sentences:
        raise ValueError("give either sentences as arguments or --input, not both")
    if args.target is not None and not args.target.strip():
        raise ValueError("--target must be a non-empty string")
    if args.input is None and not any(s.strip() for s in args.sentences):
        raise ValueError("every sentence given is empty")
    check_engine_args(args)


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify sentences given as arguments or in a JSONL file; stream the answers."""
    check_args(args)
    if args.engine == "ray":
        return predict_on_ray(args)
    clf, name = load_model(args.backend, args.model, args.runtime)
    default = args.target or clf.config.default_target
    problems: list[str] = []
    done = 0
    bar = tqdm(desc="predict", unit="sent", disable=not sys.stderr.isatty(), file=sys.stderr)
    output = None if args.output is None else Path(args.output)
    with open_output(output) as out:
        if args.input is None:
            source: Iterator[dict[str, Any]] = rows_of(args, None, problems)
            done += write_all(clf, name, source, default, out, bar, args.batch_size)
        else:
            with open_input(Path(args.input)) as fh:
                rows = rows_of(args, fh, problems)
                done += write_all(clf, name, rows, default, out, bar, args.batch_size)
    bar.close()
    if output is not None and str(output) != "-":
        print(f"wrote {done} predictions to {output}", file=sys.stderr)
    if problems:
        print(
            f"error: {len(problems)} bad input line(s) skipped; {done} classified", file=sys.stderr
        )
        return 1
    return 0


def predict_on_ray(args: argparse.Namespace) -> int:
    """``--engine ray``: check every line, then score them on Ray Data actors."""
    from service.store import resolve_model

    require_ray()
    folder, name = resolve_model(args.model, args.backend)
    outcome = run_ray(
        RayJob(
            input=args.input,
            output=args.output,
            folder=folder,
            name=name,
            rows=predict_rows,
            default_target=args.target,
            runtime=args.runtime,
            address=args.address,
            actors=args.actors,
            cpus_per_actor=args.cpus_per_actor,
            batch_size=args.batch_size,
        )
    )
    for problem in outcome.problems:
        print(f"error: {problem}", file=sys.stderr)
    if outcome.bad_lines:
        more = outcome.bad_lines - len(outcome.problems)
        also = f" (the first {len(outcome.problems)} shown, {more} more)" if more else ""
        print(
            f"error: {outcome.bad_lines} bad input line(s){also}; nothing was scored: fix or "
            "remove them and run again (the local engine skips them)",
            file=sys.stderr,
        )
        return 1
    print(f"wrote {outcome.written} predictions to {outcome.where}", file=sys.stderr)
    return 0


def write_all(
    clf: Classifier,
    name: str,
    rows: Iterator[dict[str, Any]],
    default: str,
    out: IO[str],
    bar: Any,
    batch_size: int,
) -> int:
    """Classify and write every row, a batch at a time; return how many."""
    n = 0
    for chunk in chunks(rows, batch_size):
        lines = [json_line(row) for row in predict_rows(clf, name, chunk, default)]
        out.write("".join(line + "\n" for line in lines))
        out.flush()
        n += len(chunk)
        bar.update(len(chunk))
    return n
