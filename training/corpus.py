"""Assemble the corpus splits from the writers' raw document files, by document.

Raw files (``data/raw/*.jsonl``) hold items in document order; this module gives each item an id
and its context (the previous sentence of its document), holds out whole regimes as the
out-of-regime test split, and splits the other documents into train/validation/test, stratified by
regime so that every regime with three or more documents appears in each split.

Example:
    stance data build --raw data/raw --out data --seed 13
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from training.data import parse_line

# Regimes never trained on: their test split measures how the model carries to a new target.
OUT_OF_REGIME = ("rhodesia", "myanmar", "qatar-blockade", "zimbabwe")
SHARES = {"train": 0.68, "validation": 0.16, "test": 0.16}
FIELDS = (
    "id",
    "text",
    "context",
    "target",
    "stance",
    "sentiment",
    "source",
    "doc_id",
    "regime",
    "year",
    "speaker",
)


def read_raw(raw_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Read every raw file, return items grouped by document in reading order, ids assigned."""
    docs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    files = sorted(raw_dir.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"no raw corpus files (*.jsonl) in {raw_dir}")
    for path in files:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            obj = json.loads(line)
            obj.setdefault("id", "pending")
            _, problems = parse_line(json.dumps(obj), path, lineno)
            if problems:
                raise ValueError("\n".join(problems))
            docs[obj["doc_id"]].append(obj)
    for doc_id, items in docs.items():
        previous: str | None = None
        last_text: str | None = None
        sentence = 0
        for item in items:
            if item["text"] != last_text:
                sentence += 1
                previous, last_text = last_text, item["text"]
                suffix = ""
            else:  # a target-contrast item: same sentence, another target
                suffix = "b"
            item["id"] = f"{doc_id}-s{sentence:02d}{suffix}"
            item["context"] = previous
    return docs


def assign_splits(docs: dict[str, list[dict[str, Any]]], seed: int) -> dict[str, list[str]]:
    """Return split name -> doc ids, stratified by regime, whole documents only."""
    rng = random.Random(seed)
    by_regime: dict[str, list[str]] = defaultdict(list)
    for doc_id, items in sorted(docs.items()):
        by_regime[str(items[0].get("regime", ""))].append(doc_id)
    splits: dict[str, list[str]] = {name: [] for name in (*SHARES, "test_out_of_regime")}
    for regime, doc_ids in sorted(by_regime.items()):
        if regime in OUT_OF_REGIME:
            splits["test_out_of_regime"].extend(doc_ids)
            continue
        rng.shuffle(doc_ids)
        counts = dict.fromkeys(SHARES, 0)
        if len(doc_ids) >= 3:  # seed each split with one document so every regime is covered
            for name, doc_id in zip(("validation", "test", "train"), doc_ids[:3], strict=True):
                splits[name].append(doc_id)
                counts[name] += len(docs[doc_id])
            doc_ids = doc_ids[3:]
        for doc_id in doc_ids:
            total = sum(counts.values()) + len(docs[doc_id])
            name = max(SHARES, key=lambda s: SHARES[s] * total - counts[s])
            splits[name].append(doc_id)
            counts[name] += len(docs[doc_id])
    return splits


def apply_adjudication(docs: dict[str, list[dict[str, Any]]], path: Path) -> int:
    """Replace first-pass labels by adjudicated ones; return how many items changed."""
    from training.annotation import read_labels

    final = read_labels(path)
    changed = 0
    for items in docs.values():
        for item in items:
            row = final.pop(item["id"], None)
            if row is None:
                continue
            new = (row["stance"], row["sentiment"])
            changed += new != (item["stance"], item["sentiment"])
            item["stance"], item["sentiment"] = new
    if final:
        raise ValueError(f"{path}: ids not in the raw corpus: {sorted(final)[:5]}")
    return changed


def build(
    raw_dir: Path, out_dir: Path, seed: int, adjudication: Path | None = None
) -> dict[str, int]:
    """Write ``<split>.jsonl`` files into ``out_dir``; return item counts per split."""
    docs = read_raw(raw_dir)
    if adjudication is not None and adjudication.is_file():
        apply_adjudication(docs, adjudication)
    splits = assign_splits(docs, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, doc_ids in splits.items():
        rows = [
            {k: item.get(k) for k in FIELDS} for doc_id in sorted(doc_ids) for item in docs[doc_id]
        ]
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        (out_dir / f"{name}.jsonl").write_text(text, encoding="utf-8")
        counts[name] = len(rows)
    return counts
