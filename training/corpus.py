"""Assemble the written corpus' splits from the writers' raw document files, by document.

Raw files (``data/written/raw/*.jsonl``) hold items in document order with the first pass's
labels; this module gives each item an id and its context (the previous sentence of its
document), applies the second passes and the adjudication of their disagreements
(``data/annotation/written/``), marks the items whose sentence never names the sanctions
(``refers: false``), holds out whole regimes as the out-of-regime test split, and splits the other
documents into train/validation/test, stratified by regime so that every regime with three or more
documents appears in each split. The seed documents stay out of every split.

Example:
    stance data build
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

from training.data import json_objects, parse_line
from training.real_corpus import by_id, check_labels

# Regimes never trained on: their test split measures how the model carries to a new target.
OUT_OF_REGIME = ("rhodesia", "myanmar", "qatar-blockade", "zimbabwe")
# The seed documents are the product's acceptance test (tests/golden/seed_sentences.jsonl, run by
# the behavioural tests): they are kept out of every split, so no model trains on them.
GOLDEN_SOURCE = "seed"
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
    "refers",
)
SECOND_PASS = "second_pass.jsonl"  # a blind second pass over 163 whole documents
RECALIBRATION = "recalibration_pass.jsonl"  # the other documents, under the real-text rules
ADJUDICATION = "adjudication.jsonl"  # the final label of every item the passes disagreed on


def read_raw(raw_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Read every raw file, return items grouped by document in reading order, ids assigned."""
    docs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    files = sorted(raw_dir.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(f"no raw corpus files (*.jsonl) in {raw_dir}")
    for path in files:
        for lineno, obj in json_objects(path):
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
        if items[0].get("source") == GOLDEN_SOURCE:
            continue
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


def keep_near_duplicates_together(
    docs: dict[str, list[dict[str, Any]]], splits: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Move documents that share a near-duplicate sentence into one split.

    The cluster goes to the split holding most of its items, so no split tests on a sentence
    another trains on.
    """
    from training.real_corpus import doc_clusters

    split_of = {d: name for name, ids in splits.items() for d in ids}
    items = [{"text": i["text"], "doc_id": d} for d in split_of for i in docs[d]]
    members: dict[str, list[str]] = defaultdict(list)
    for doc, cluster in doc_clusters(items).items():
        members[cluster].append(doc)
    for group in members.values():
        sizes: dict[str, int] = defaultdict(int)
        for d in group:
            sizes[split_of[d]] += len(docs[d])
        if len(sizes) > 1:
            home = max(sorted(sizes), key=lambda s: (sizes[s], s == "train"))
            for d in group:
                split_of[d] = home
    out: dict[str, list[str]] = {name: [] for name in splits}
    for d, name in split_of.items():
        out[name].append(d)
    return out


def apply_annotation(docs: dict[str, list[dict[str, Any]]], annotation: Path) -> dict[str, int]:
    """Apply the second passes, their adjudication and the ``refers`` flags; return counts.

    An item keeps its first-pass labels when a second pass agrees with them, takes the
    adjudicated labels when it does not, and is an error when a disagreement has no adjudication.
    """
    items = {item["id"]: item for group in docs.values() for item in group}
    second: dict[str, dict[str, Any]] = {}
    flags: dict[str, bool] = {}
    for name in (SECOND_PASS, RECALIBRATION):
        path = annotation / name
        if not path.is_file():
            continue
        for iid, row in by_id(path).items():
            if iid not in items:
                raise ValueError(f"{path}: id {iid!r} is not in the raw corpus")
            if isinstance(row.get("refers_to_sanctions"), bool):
                flags[iid] = row["refers_to_sanctions"]
            if "stance" in row or "sentiment" in row:
                check_labels(row, f"{path} {iid}")
                second[iid] = row
    adjudicated = by_id(annotation / ADJUDICATION) if (annotation / ADJUDICATION).is_file() else {}
    unknown = sorted(set(adjudicated) - set(second))
    if unknown:
        raise ValueError(f"{annotation / ADJUDICATION}: ids no second pass labelled: {unknown[:5]}")
    pending, changed = [], 0
    for iid, row in second.items():
        item = items[iid]
        if (row["stance"], row["sentiment"]) == (item["stance"], item["sentiment"]):
            continue
        final = adjudicated.get(iid)
        if final is None:
            pending.append(iid)
            continue
        check_labels(final, f"{annotation / ADJUDICATION} {iid}")
        new = (final["stance"], final["sentiment"])
        changed += new != (item["stance"], item["sentiment"])
        item["stance"], item["sentiment"] = new
    if pending:
        raise ValueError(
            f"{len(pending)} written item(s) on which the passes disagree have no adjudication "
            f"in {annotation / ADJUDICATION}: {pending[:5]}"
        )
    for iid, flag in flags.items():
        items[iid]["refers"] = flag
    return {"second_pass": len(second), "changed": changed, "flagged": len(flags)}


def build(
    raw_dir: Path, out_dir: Path, seed: int, annotation: Path | None = None
) -> dict[str, int]:
    """Write ``<split>.jsonl`` files into ``out_dir``; return item counts per split."""
    docs = read_raw(raw_dir)
    if annotation is not None:
        apply_annotation(docs, annotation)
    splits = keep_near_duplicates_together(docs, assign_splits(docs, seed))
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
