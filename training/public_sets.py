"""Public labelled data sets as corpus files, read at run time from ``../shared/benchmarks``.

The benchmark data stay in the shared folder (their licences differ); this module converts them
into the corpus JSON Lines format of ``training.data`` under a run folder. Every corpus item needs
both labels, so each benchmark scores one task (``Benchmark.task``) and fills the other with a
placeholder: stance ``none`` in sentiment-only sets, sentiment ``neutral`` in stance-only sets.
Only the scored task's metrics mean anything.

Official splits are kept as published; splits made here (a seeded shuffle) hold out distinct
texts, so an identical sentence never lands on both sides, and training items whose text is also
in the test set are dropped.

Example:
    stance benchmark tweeteval_stance --prepare-only
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from model.labels import SENTIMENT_LABELS, STANCE_LABELS
from model.metrics import RunMetrics

BENCHMARKS_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks"
DEFAULT_SEED = 13
STANCE_PLACEHOLDER = "none"
SENTIMENT_PLACEHOLDER = "neutral"
CORE_SETS = ("train", "validation", "test")

TWEETEVAL_TARGETS = {
    "abortion": "legalization of abortion",
    "atheism": "atheism",
    "climate": "climate change is a real concern",
    "feminist": "feminist movement",
    "hillary": "Hillary Clinton",
}
TWEETEVAL_DIR = Path("tweeteval", "datasets", "stance")
TWEETEVAL_FILES = {"train": "train", "validation": "val", "test": "test"}
SEMEVAL_LABELS = {"FAVOR": "favor", "AGAINST": "against", "NONE": "none"}
SEMEVAL_HEADER = ["ID", "Target", "Tweet", "Stance"]
FPB_TARGET = "the company"
NEWSMTSC_POLARITY = {2.0: "negative", 4.0: "neutral", 6.0: "positive"}

Row = dict[str, Any]


class SetFile(TypedDict):
    """One written evaluation or training set."""

    path: str
    count: int


def _require(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(
            f"benchmark file {path} not found; the public benchmark folder ../shared/benchmarks "
            "(beside the repository root) must be present"
        )
    return path


def _lines(path: Path, encoding: str = "utf-8") -> list[str]:
    """Non-blank lines of a file, without line endings (CRLF or LF)."""
    text = _require(path).read_text(encoding=encoding)
    return [line.rstrip("\r") for line in text.split("\n") if line.strip()]


def _item(
    item_id: str,
    text: str,
    target: str,
    source: str,
    *,
    stance: str = STANCE_PLACEHOLDER,
    sentiment: str = SENTIMENT_PLACEHOLDER,
    doc_id: str | None = None,
    regime: str = "",
) -> Row:
    text, target = text.strip(), target.strip()
    if not text or not target:
        raise ValueError(f"benchmark item {item_id} has an empty text or target")
    if stance not in STANCE_LABELS or sentiment not in SENTIMENT_LABELS:
        raise ValueError(f"benchmark item {item_id} has labels {stance!r}/{sentiment!r}")
    return {
        "id": item_id,
        "text": text,
        "context": None,
        "target": target,
        "stance": stance,
        "sentiment": sentiment,
        "source": source,
        "doc_id": doc_id or item_id,
        "regime": regime,
        "year": None,
    }


def split_by_text(rows: list[Row], share: float, seed: int) -> tuple[list[Row], list[Row]]:
    """Hold out ``share`` of the distinct texts by a seeded shuffle; returns (kept, held out)."""
    texts = list(dict.fromkeys(r["text"] for r in rows))
    random.Random(seed).shuffle(texts)
    held = set(texts[: round(share * len(texts))])
    return [r for r in rows if r["text"] not in held], [r for r in rows if r["text"] in held]


def _without_texts(rows: list[Row], others: list[Row]) -> list[Row]:
    texts = {r["text"] for r in others}
    return [r for r in rows if r["text"] not in texts]


def write_sets(out_dir: Path, sets: dict[str, list[Row]]) -> dict[str, SetFile]:
    """Write ``<out_dir>/<set>.jsonl`` for every set; return each file's path and item count."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, SetFile] = {}
    for name, rows in sets.items():
        path = out_dir / f"{name}.jsonl"
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
        written[name] = {"path": str(path), "count": len(rows)}
    return written


def _tweeteval_split(root: Path, key: str, split: str, labels: dict[str, str]) -> list[Row]:
    folder = root / TWEETEVAL_DIR / key
    name = TWEETEVAL_FILES[split]
    texts = _lines(folder / f"{name}_text.txt")
    ids = _lines(folder / f"{name}_labels.txt")
    if len(texts) != len(ids):
        raise ValueError(f"{folder}: {len(texts)} {name} texts but {len(ids)} labels")
    return [
        _item(
            f"tweeteval-{key}-{split}-{i:04d}",
            text,
            TWEETEVAL_TARGETS[key],
            "tweeteval",
            stance=labels.get(label.strip(), label),
            regime=key,
        )
        for i, (text, label) in enumerate(zip(texts, ids, strict=True), start=1)
    ]


def tweeteval_stance(
    out_dir: Path, seed: int = DEFAULT_SEED, root: Path = BENCHMARKS_ROOT
) -> dict[str, SetFile]:
    """TweetEval stance (= SemEval-2016 Task 6 A), five targets pooled, official splits.

    ``seed`` is unused (every split is official); it keeps the signature of the other builders.
    """
    pairs = [line.split("\t") for line in _lines(root / TWEETEVAL_DIR / "mapping.txt")]
    labels = {k.strip(): v.strip() for k, v in pairs}  # 0 none, 1 against, 2 favor
    sets = {
        split: [r for key in TWEETEVAL_TARGETS for r in _tweeteval_split(root, key, split, labels)]
        for split in CORE_SETS
    }
    return write_sets(out_dir, sets)


def _semeval_rows(path: Path, encoding: str) -> list[Row]:
    lines = _lines(path, encoding)
    if lines[0].split("\t") != SEMEVAL_HEADER:
        raise ValueError(f"{path}: expected the header {SEMEVAL_HEADER}, got {lines[0]!r}")
    rows = []
    for lineno, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != 4 or fields[3] not in SEMEVAL_LABELS:
            raise ValueError(f"{path}:{lineno}: expected ID, target, tweet and a stance label")
        item_id, target, tweet, stance = fields
        rows.append(
            _item(
                f"semeval2016-{item_id}",
                tweet,
                target,
                "semeval2016-task6",
                stance=SEMEVAL_LABELS[stance],
                regime=target.lower(),
            )
        )
    return rows


def semeval_task_b(
    out_dir: Path, seed: int = DEFAULT_SEED, root: Path = BENCHMARKS_ROOT
) -> dict[str, SetFile]:
    """SemEval-2016 Task 6 B: train on the five Task A targets, test on unseen Donald Trump.

    The Task A training file (windows-1252 bytes, CRLF) is split 90/10 into train and validation
    by a seeded shuffle; the test is the official Task B gold file.
    """
    folder = root / "semeval2016-task6"
    test = _semeval_rows(folder / "derived_SemEval2016-Task6-subtaskB-testdata-gold.txt", "utf-8")
    pool = _semeval_rows(folder / "semeval2016-task6-trainingdata.txt", "cp1252")
    train, validation = split_by_text(_without_texts(pool, test), 0.1, seed)
    return write_sets(out_dir, {"train": train, "validation": validation, "test": test})


def _fpb_rows(path: Path) -> list[Row]:
    rows = []
    for lineno, line in enumerate(_lines(path, "latin-1"), start=1):
        text, sep, label = line.rpartition("@")
        if not sep or label.strip() not in SENTIMENT_LABELS:
            raise ValueError(f"{path}:{lineno}: expected 'sentence@label', got {line[-40:]!r}")
        rows.append(
            _item(
                f"fpb-{lineno:04d}",
                text,
                FPB_TARGET,
                "financial-phrasebank",
                sentiment=label.strip(),
            )
        )
    return rows


def financial_phrasebank(
    out_dir: Path, seed: int = DEFAULT_SEED, root: Path = BENCHMARKS_ROOT
) -> dict[str, SetFile]:
    """Financial PhraseBank v1.0: Sentences_50Agree split 80/20, then 10% of train to validation.

    There is no official split. ``allagree_test`` holds the test items whose sentence is also in
    Sentences_AllAgree (the subset every annotator agreed on). Files are latin-1.
    """
    folder = root / "financial-phrasebank" / "FinancialPhraseBank-v1.0"
    rest, test = split_by_text(_fpb_rows(folder / "Sentences_50Agree.txt"), 0.2, seed)
    train, validation = split_by_text(rest, 0.1, seed)
    agreed = {r["text"] for r in _fpb_rows(folder / "Sentences_AllAgree.txt")}
    sets = {"train": train, "validation": validation, "test": test}
    sets["allagree_test"] = [r for r in test if r["text"] in agreed]
    return write_sets(out_dir, sets)


def _newsmtsc_rows(path: Path) -> list[Row]:
    """One item per target mention; the sentence record is the document."""
    rows = []
    for lineno, line in enumerate(_lines(path), start=1):
        doc = f"newsmtsc-{path.stem}-{lineno:05d}"
        try:
            record = json.loads(line)
            for k, t in enumerate(record["targets"], start=1):
                sentiment = NEWSMTSC_POLARITY[float(t["polarity"])]
                text, mention = record["sentence_normalized"], t["mention"]
                rows.append(
                    _item(f"{doc}-t{k}", text, mention, "newsmtsc", sentiment=sentiment, doc_id=doc)
                )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{lineno}: not a NewsMTSC record ({exc!r})") from None
    return rows


def newsmtsc(
    out_dir: Path, seed: int = DEFAULT_SEED, root: Path = BENCHMARKS_ROOT
) -> dict[str, SetFile]:
    """NewsMTSC: sentiment toward a person mention; test = devtest_rw, validation = 10% of train.

    Train sentences that also occur in devtest_rw are dropped; validation holds out whole
    sentences, so the several targets of one sentence stay on the same side.
    """
    folder = root / "newsmtsc" / "NewsMTSC-dataset"
    test = _newsmtsc_rows(folder / "devtest_rw.jsonl")
    pool = _without_texts(_newsmtsc_rows(folder / "train.jsonl"), test)
    train, validation = split_by_text(pool, 0.1, seed)
    return write_sets(out_dir, {"train": train, "validation": validation, "test": test})


Builder = Callable[[Path, int, Path], dict[str, SetFile]]


@dataclass(frozen=True)
class Benchmark:
    """A benchmark: how to build it, the task it scores and that task's official metrics."""

    build: Builder
    task: str
    metrics: tuple[str, ...]


STANCE_METRICS = ("f_avg",)  # SemEval-2016: mean F1 of favor and against, pooled
SENTIMENT_METRICS = ("accuracy", "macro_f1")
BENCHMARKS: dict[str, Benchmark] = {
    "tweeteval_stance": Benchmark(tweeteval_stance, "stance", STANCE_METRICS),
    "semeval_task_b": Benchmark(semeval_task_b, "stance", STANCE_METRICS),
    "financial_phrasebank": Benchmark(financial_phrasebank, "sentiment", SENTIMENT_METRICS),
    "newsmtsc": Benchmark(newsmtsc, "sentiment", SENTIMENT_METRICS),
}


def get_benchmark(name: str) -> Benchmark:
    """Return the benchmark called ``name``; a ValueError lists the valid names."""
    if name not in BENCHMARKS:
        raise ValueError(
            f"unknown benchmark {name!r}; valid names: {', '.join(sorted(BENCHMARKS))}"
        )
    return BENCHMARKS[name]


def materialize(
    name: str, out_dir: str | Path, seed: int = DEFAULT_SEED, root: Path = BENCHMARKS_ROOT
) -> dict[str, SetFile]:
    """Write benchmark ``name`` as corpus files into ``out_dir``; return paths and counts."""
    return get_benchmark(name).build(Path(out_dir), seed, root)


def scored_metrics(name: str, metrics: RunMetrics) -> dict[str, Any]:
    """The official metrics of the scored task only, per set and backend."""
    bench = get_benchmark(name)
    return {
        set_name: {
            backend: {m: round(by_task[bench.task].metrics[m], 4) for m in bench.metrics}
            for backend, by_task in by_backend.items()
        }
        for set_name, by_backend in metrics.results.items()
    }
