"""Documents/s of ``stance classify-docs``: the two seed documents repeated to 200, one run.

Writes the 200 documents to a temporary folder, loads the model once (timed apart), then runs the
command's own reading, scoring and CSV writing over the folder and prints one JSON line: model,
runtime, documents, sentences, seconds, documents/s and sentences/s. Timings swing with machine
load; the scoring is one forward pass a document, as ``stance classify-docs`` does it.

Example:
    BENTOML_HOME=bentoml_home/tests python -m benchmarks.documents --model stance-fixture:latest
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from cli.common import load_model
from cli.documents import score_documents
from cli.sources import input_files, read_documents
from cli.tables import open_table

ROOT = Path(__file__).resolve().parent.parent


class NoBar:
    """The progress bar's interface, doing nothing."""

    def update(self, n: int) -> None:
        """Ignore progress."""

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        """Ignore the rate."""


def main() -> None:
    """Parse options, run once, print the result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="store tag or artifact folder")
    parser.add_argument("--backend", default="transformer", help="transformer or baseline")
    parser.add_argument("--documents", type=int, default=200, help="documents to score")
    parser.add_argument("--target", default="US sanctions on Iran", help="the one target")
    args = parser.parse_args()
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "docs"
        folder.mkdir()
        for i in range(args.documents):
            shutil.copy(seeds[i % len(seeds)], folder / f"{i:04d}.txt")
        started = time.perf_counter()
        clf, name = load_model(args.backend, args.model)
        loaded = time.perf_counter()
        with open_table(Path(tmp) / "out.csv", "csv", []) as table:
            tally = score_documents(
                clf, name, [args.target], read_documents(input_files([str(folder)])), table, {},
                NoBar(),
            )  # fmt: skip
        seconds = time.perf_counter() - loaded
    print(
        json.dumps(
            {
                "model": name,
                "backend": args.backend,
                "runtime": str(getattr(clf, "runtime", "torch" if clf.backend == "transformer"
                                       else "scikit-learn")),
                "documents": tally.documents,
                "sentences": tally.sentences,
                "rows": tally.rows,
                "model_load_s": round(loaded - started, 2),
                "seconds": round(seconds, 2),
                "documents_per_s": round(tally.documents / seconds, 1),
                "sentences_per_s": round(tally.sentences / seconds, 1),
            }
        )
    )  # fmt: skip


if __name__ == "__main__":
    main()
