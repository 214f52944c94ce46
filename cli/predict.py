"""``stance predict``: sentences from arguments, a JSON Lines file or standard input.

Output streams as JSON Lines, one object per input line: the input's fields, then the target,
both labels with their calibrated scores, the windows a long sentence took, and the model. A bad
input line is reported on stderr with its line number; the others are still classified, and the
exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tqdm.auto import tqdm

from cli.common import add_model_args, load_model, open_input, open_output, read_jsonl_items
from model.predictor import Classifier

PREDICT_BATCH = 256


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register predict."""
    p = sub.add_parser("predict", help="classify sentences from arguments or a JSONL file")
    p.add_argument("sentences", nargs="*", help="sentences to classify (instead of --input)")
    p.add_argument(
        "--input",
        type=Path,
        help='JSONL file (or - for stdin), one {"text": ..., "target"?: ..., "context"?: ...} '
        "a line",
    )
    p.add_argument("--output", type=Path, help="JSONL output file (default, or -: standard output)")
    p.add_argument(
        "--target",
        default=None,
        help="target for lines without their own (default: the model's default target)",
    )
    add_model_args(p)
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


def classify_rows(
    clf: Classifier, name: str, rows: list[dict[str, Any]], default: str
) -> list[str]:
    """JSON lines for one chunk of rows."""
    targets = [r.get("target") or default for r in rows]
    preds = clf.predict([r["text"] for r in rows], targets, [r.get("context") for r in rows])
    return [
        json.dumps(row | {"target": t} | p.as_dict() | {"model": name}, ensure_ascii=False)
        for row, t, p in zip(rows, targets, preds, strict=True)
    ]


def cmd_predict(args: argparse.Namespace) -> int:
    """Classify sentences given as arguments or in a JSONL file; stream the answers."""
    if args.input is None and not args.sentences:
        raise ValueError("give sentences as arguments or --input FILE.jsonl (- for stdin)")
    if args.input is not None and args.sentences:
        raise ValueError("give either sentences as arguments or --input, not both")
    if args.target is not None and not args.target.strip():
        raise ValueError("--target must be a non-empty string")
    if args.input is None and not any(s.strip() for s in args.sentences):
        raise ValueError("every sentence given is empty")
    clf, name = load_model(args.backend, args.model)
    default = args.target or clf.config.default_target
    problems: list[str] = []
    done = 0
    bar = tqdm(desc="predict", unit="sent", disable=not sys.stderr.isatty(), file=sys.stderr)
    with open_output(args.output) as out:
        if args.input is None:
            source: Iterator[dict[str, Any]] = rows_of(args, None, problems)
            done += write_all(clf, name, source, default, out, bar)
        else:
            with open_input(args.input) as fh:
                done += write_all(clf, name, rows_of(args, fh, problems), default, out, bar)
    bar.close()
    if args.output is not None and str(args.output) != "-":
        print(f"wrote {done} predictions to {args.output}", file=sys.stderr)
    if problems:
        print(
            f"error: {len(problems)} bad input line(s) skipped; {done} classified", file=sys.stderr
        )
        return 1
    return 0


def write_all(
    clf: Classifier,
    name: str,
    rows: Iterator[dict[str, Any]],
    default: str,
    out: IO[str],
    bar: Any,
) -> int:
    """Classify and write every row, a chunk at a time; return how many."""
    n = 0
    for chunk in chunks(rows, PREDICT_BATCH):
        out.write("".join(line + "\n" for line in classify_rows(clf, name, chunk, default)))
        out.flush()
        n += len(chunk)
        bar.update(len(chunk))
    return n
