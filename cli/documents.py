"""``stance classify-docs``: score whole documents from files, folders and tables.

Each document goes through ``model.document.classify_document``: the splitter, the previous
sentence as context, the windows of long sentences and the per-target aggregate that
``POST /classify_document`` uses, in one forward pass a document, as a lone HTTP request is
answered; so the command and the service give the same answers. The output (``cli.tables``) has
one row a sentence and target, and one summary row a document and target; it streams, with a
progress bar on stderr when stderr is a terminal. A bad input is reported on stderr with its name
and reason, the others are still scored, and the exit code is then 1.

Example:
    stance classify-docs seeds/ --target "US sanctions on Iran" --format csv
    stance classify-docs articles.xlsx --target "EU sanctions" --output scored.xlsx
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from cli.common import add_model_args, load_model
from cli.sources import (
    TEXT_SUFFIXES,
    Document,
    Item,
    Problem,
    carried_columns,
    input_files,
    read_documents,
)
from cli.tables import FORMATS, Table, open_table, output_format, output_names
from model.document import DocumentResult, classify_document
from model.predictor import Classifier
from service.schemas import MAX_TARGET_CHARS, MAX_TARGETS


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register classify-docs."""
    p = sub.add_parser(
        "classify-docs",
        help="score whole documents (text files, folders, tables with a text column)",
        description="Split each document into sentences and score every sentence's stance "
        "toward each target and its sentiment, as POST /classify_document does; write one row "
        "a sentence and target and one summary row a document and target.",
    )
    p.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help=".txt/.md files, folders of them (searched recursively), .csv/.jsonl/.xlsx files "
        "with a 'text' column (other columns are carried through), or - for one document on "
        "standard input",
    )
    p.add_argument(
        "--target",
        dest="targets",
        action="append",
        default=None,
        help=f"a target to judge stance toward; repeat for up to {MAX_TARGETS} (default: the "
        "model's default target)",
    )
    p.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="output format (default: the suffix of --output if it is one of these, else csv)",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=None,
        help="output file (default, or -: standard output; xlsx needs a file)",
    )
    add_model_args(p)
    p.set_defaults(func=cmd_classify_docs)


def check_targets(targets: Sequence[str] | None) -> list[str]:
    """The --target values (possibly none), checked against the limits of the HTTP API."""
    targets = list(targets or [])
    if len(targets) > MAX_TARGETS:
        raise ValueError(f"{len(targets)} --target options; the limit is {MAX_TARGETS}")
    for t in targets:
        if not t.strip():
            raise ValueError("--target must be a non-empty string")
        if len(t) > MAX_TARGET_CHARS:
            raise ValueError(f"--target has {len(t)} characters; the limit is {MAX_TARGET_CHARS}")
    return targets


def document_rows(
    doc: Document, results: Sequence[DocumentResult], model: str, names: dict[str, str]
) -> Iterator[dict[str, Any]]:
    """Per target: a row for each sentence, then the document's summary row."""
    extra = {names[k]: v for k, v in doc.extra.items()}
    for r in results:
        for s in r.sentences:
            stance: dict[str, float] = s["stance_scores"]  # type: ignore[assignment]
            sentiment: dict[str, float] = s["sentiment_scores"]  # type: ignore[assignment]
            yield {
                "document": doc.name, "kind": "sentence", "target": r.target,
                "sentence": s["index"], "start": s["start"], "end": s["end"], "text": s["text"],
                "stance": s["stance"], **{f"stance_{k}": v for k, v in stance.items()},
                "sentiment": s["sentiment"],
                **{f"sentiment_{k}": v for k, v in sentiment.items()},
                "windows": s["windows"], "model": model, **extra,
            }  # fmt: skip
        yield {
            "document": doc.name, "kind": "document", "target": r.target,
            "stance": r.stance, "confidence": r.stance_confidence,
            **{f"stance_{k}": v for k, v in r.stance_distribution.items()},
            **{f"sentiment_{k}": v for k, v in r.sentiment_distribution.items()},
            "evidence": list(r.evidence), "model": model, **extra,
        }  # fmt: skip


@dataclass
class Tally:
    """What a run scored and what it could not."""

    documents: int = 0
    sentences: int = 0
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)


def score_documents(
    clf: Classifier,
    model: str,
    targets: Sequence[str],
    items: Iterable[Item],
    table: Table,
    names: dict[str, str],
    bar: Any,
) -> Tally:
    """Score every document of ``items`` into ``table``; report each Problem on stderr."""
    tally = Tally()
    started = time.perf_counter()
    for item in items:
        if isinstance(item, Problem):
            tally.problems.append(item)
            print(f"error: {item}", file=sys.stderr)
            continue
        results = classify_document(clf, item.text, targets)
        for row in document_rows(item, results, model, names):
            table.write(row)
            tally.rows += 1
        table.flush()
        tally.documents += 1
        tally.sentences += len(results[0].sentences)
        bar.update(1)
        rate = tally.sentences / max(time.perf_counter() - started, 1e-9)
        bar.set_postfix_str(f"{rate:.1f} sentences/s", refresh=False)
    return tally


def cmd_classify_docs(args: argparse.Namespace) -> int:
    """Score the documents of PATH... and write the table; exit 1 if an input was bad."""
    targets = check_targets(args.targets)
    fmt = output_format(args.format, args.output)
    files = input_files(args.paths)
    clf, model = load_model(args.backend, args.model)
    targets = targets or [clf.config.default_target]
    names = output_names(carried_columns(files))
    only_text = all(f is None or f.suffix.lower() in TEXT_SUFFIXES for f in files)
    bar = tqdm(
        total=len(files) if only_text else None,
        desc="classify-docs",
        unit="doc",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
    )
    with open_table(args.output, fmt, list(names.values())) as table:
        tally = score_documents(clf, model, targets, read_documents(files), table, names, bar)
    bar.close()
    if args.output is not None and str(args.output) != "-":
        print(
            f"wrote {tally.rows} rows for {tally.documents} document(s) to {args.output}",
            file=sys.stderr,
        )
    if tally.problems:
        print(
            f"error: {len(tally.problems)} input(s) could not be scored (see above); "
            f"{tally.documents} document(s) scored",
            file=sys.stderr,
        )
        return 1
    return 0
