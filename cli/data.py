"""``stance data``: build the splits, check the corpus, agreement and statistics."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EVAL_SET = (
    Path(__file__).resolve().parent.parent.parent / "shared/benchmarks/sanctions-real/dev.jsonl"
)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register data check|build|agreement|stats."""
    p = sub.add_parser("data", help="corpus tools")
    dsub = p.add_subparsers(
        dest="data_command", required=True, metavar="{check,build,agreement,stats}"
    )
    c = dsub.add_parser("check", help="validate a corpus folder or file; non-zero exit on problems")
    c.add_argument("path", type=Path, help="data/ (both corpora), a corpus folder or one file")
    c.add_argument(
        "--min-share",
        type=float,
        default=0.05,
        help="smallest share each label may have in each corpus (default: %(default)s)",
    )
    c.add_argument(
        "--eval-set",
        type=Path,
        action="append",
        default=None,
        help="a labelled evaluation set no item may nearly duplicate (repeatable; default: the "
        "sanctions-real dev set when ../shared holds it)",
    )
    c.set_defaults(func=cmd_check)
    b = dsub.add_parser("build", help="write both corpora's split files from raw files and passes")
    b.add_argument("--data", type=Path, default=Path("data"), help="the data folder")
    b.add_argument("--seed", type=int, default=13, help="seed of the splits (%(default)s)")
    b.set_defaults(func=cmd_build)
    a = dsub.add_parser("agreement", help="Cohen's kappa between the annotation passes")
    a.add_argument("--data", type=Path, default=Path("data"), help="the data folder")
    a.set_defaults(func=cmd_agreement)
    s = dsub.add_parser("stats", help="Markdown count tables of a corpus (for the datasheet)")
    s.add_argument("path", type=Path, help="data/, a corpus folder or one file")
    s.set_defaults(func=cmd_stats)


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the corpus; every problem one line on stderr."""
    from training.check import check_corpus, corpus_files

    eval_sets = (
        args.eval_set if args.eval_set is not None else ([EVAL_SET] if EVAL_SET.is_file() else [])
    )
    report = check_corpus(corpus_files(args.path), min_share=args.min_share, eval_sets=eval_sets)
    if (args.path / "annotation").is_dir():
        from training.real_corpus import check_real

        report.problems += check_real(args.path)
    for note in report.notes:
        print(note)
    for problem in report.problems:
        print(f"problem: {problem}", file=sys.stderr)
    print("corpus check: " + ("ok" if report.ok else f"{len(report.problems)} problem(s)"))
    return 0 if report.ok else 1


def cmd_build(args: argparse.Namespace) -> int:
    """Write the written corpus' and the real corpus' split files."""
    from training.corpus import build
    from training.real_corpus import build_real

    written = build(
        args.data / "written" / "raw", args.data / "written", args.seed,
        args.data / "annotation" / "written",
    )  # fmt: skip
    real = build_real(args.data, args.seed)
    print(json.dumps({"written": written, "real": real}))
    return 0


def cmd_agreement(args: argparse.Namespace) -> int:
    """Kappa per task, before adjudication, for every pair of passes."""
    from training.annotation import agreement_report

    print(json.dumps(agreement_report(args.data), indent=2))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Markdown tables of counts."""
    from training.annotation import corpus_stats
    from training.check import corpus_files

    print(corpus_stats(corpus_files(args.path)), end="")
    return 0
