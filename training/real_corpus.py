"""The real-text corpus: labelled sentences from UN General Debate and US presidential speeches.

Inputs (all under ``data/``):
- ``real/source/sentences.jsonl``: the sentences as collected (id, source, doc, year, speaker,
  context, text); see ``real/source/SOURCE.md`` for sources and licences.
- ``annotation/real/pass1.jsonl``: the first pass, one line per sentence:
  ``{"id", "relevant", "items": [{"target", "stance", "sentiment"}, ...]}``. A sentence about two
  regimes has two items; the first item's id is the sentence id, the next ones add ``-2``, ``-3``.
- ``annotation/real/pass2.jsonl``: the independent second pass, one line per item (the target as
  the first pass named it): ``{"id", "relevant", "stance", "sentiment"}``; for a sentence the first
  pass put out of scope, the second pass judged scope itself and, if in scope, named a ``target``.
- ``annotation/real/adjudication.jsonl``: the final labels of every item the passes disagreed on,
  with the guideline rule applied: ``{"id", "relevant", "target"?, "stance", "sentiment", "rule"}``.
- ``real/excluded.jsonl``: items left out, with the reason (near-duplicates of evaluation items).

Output: ``real/{train,validation,test}.jsonl`` in the corpus format, split by speech, with speeches
that share a near-duplicate sentence kept together, stratified by decade and regime.

Example:
    stance data build
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.labels import SENTIMENT_LABELS, STANCE_LABELS
from training.data import json_objects
from training.dedup import near_duplicates

SPLITS = {"train": 0.68, "validation": 0.16, "test": 0.16}
MIN_STRATUM_REGIME = 40  # items; rarer regimes share the stratum "other"
FIELDS = (
    "id", "text", "context", "target", "stance", "sentiment", "source", "doc_id", "regime",
    "year", "speaker",
)  # fmt: skip


@dataclass(frozen=True)
class RealPaths:
    """Where the real corpus' files are, relative to the data folder."""

    data: Path

    @property
    def sentences(self) -> Path:
        """The collected sentences."""
        return self.data / "real" / "source" / "sentences.jsonl"

    @property
    def annotation(self) -> Path:
        """The folder of the passes and the adjudication."""
        return self.data / "annotation" / "real"

    @property
    def excluded(self) -> Path:
        """Items left out of the splits, with the reason."""
        return self.data / "real" / "excluded.jsonl"

    @property
    def out(self) -> Path:
        """Where the split files go."""
        return self.data / "real"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSON Lines file; a bad line raises ValueError naming the file and line."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    rows = []
    for lineno, row in json_objects(path):
        if not isinstance(row.get("id"), str):
            raise ValueError(f'{path}:{lineno}: expected an object with a string "id"')
        rows.append(row)
    return rows


def by_id(path: Path) -> dict[str, dict[str, Any]]:
    """Read a JSON Lines file keyed by ``id``; a repeated id is an error."""
    out: dict[str, dict[str, Any]] = {}
    for row in read_jsonl(path):
        if row["id"] in out:
            raise ValueError(f"{path}: id {row['id']!r} appears twice")
        out[row["id"]] = row
    return out


def item_id(sentence_id: str, k: int) -> str:
    """The id of a sentence's k-th item (k from 0): the sentence id, then ``-2``, ``-3``..."""
    return sentence_id if k == 0 else f"{sentence_id}-{k + 1}"


def check_labels(row: dict[str, Any], where: str) -> None:
    """Raise ValueError unless ``row`` has a valid stance and sentiment."""
    if row.get("stance") not in STANCE_LABELS:
        raise ValueError(f"{where}: stance {row.get('stance')!r} not in {list(STANCE_LABELS)}")
    if row.get("sentiment") not in SENTIMENT_LABELS:
        raise ValueError(
            f"{where}: sentiment {row.get('sentiment')!r} not in {list(SENTIMENT_LABELS)}"
        )


@dataclass
class PassPair:
    """One item as both passes saw it (``second`` is None when the second pass is missing)."""

    id: str
    sentence_id: str
    target: str
    first: dict[str, Any]
    second: dict[str, Any] | None


def pair_passes(
    pass1: dict[str, dict[str, Any]], pass2: dict[str, dict[str, Any]]
) -> list[PassPair]:
    """Line the two passes up item by item (scope items included, with target "")."""
    pairs = []
    for sid, row in pass1.items():
        if not isinstance(row.get("relevant"), bool):
            raise ValueError(f"pass1 {sid}: 'relevant' must be true or false")
        items = row.get("items") or []
        if not row["relevant"]:
            first = {"relevant": False}
            pairs.append(PassPair(sid, sid, "", first, pass2.get(sid)))
            continue
        for k, item in enumerate(items):
            iid = item_id(sid, k)
            check_labels(item, f"pass1 {iid}")
            first = {"relevant": True, "stance": item["stance"], "sentiment": item["sentiment"]}
            pairs.append(PassPair(iid, sid, str(item["target"]), first, pass2.get(iid)))
    return pairs


def agrees(pair: PassPair) -> bool:
    """True when both passes give the same relevance and, if relevant, the same labels."""
    a, b = pair.first, pair.second
    if b is None or bool(a["relevant"]) != bool(b.get("relevant")):
        return False
    if not a["relevant"]:
        return True
    return (a["stance"], a["sentiment"]) == (b.get("stance"), b.get("sentiment"))


def final_items(
    sentences: dict[str, dict[str, Any]],
    pairs: list[PassPair],
    adjudication: dict[str, dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[str], int]:
    """The labelled in-scope items, the ids still needing adjudication, the out-of-scope count."""
    items, pending, out_of_scope = [], [], 0
    for pair in pairs:
        if agrees(pair):
            label = pair.first
            target = pair.target
        elif pair.id in adjudication:
            label = adjudication[pair.id]
            target = str(label.get("target") or pair.target)
        else:
            pending.append(pair.id)
            continue
        if not label.get("relevant", True):
            out_of_scope += 1
            continue
        check_labels(label, f"final label of {pair.id}")
        if not target:
            raise ValueError(f"adjudication {pair.id}: an in-scope item needs a 'target'")
        src = sentences[pair.sentence_id]
        items.append(
            {
                "id": pair.id,
                "text": src["text"],
                "context": src["context"] or None,
                "target": target,
                "stance": label["stance"],
                "sentiment": label["sentiment"],
                "source": src["source"],
                "doc_id": src["doc"],
                "regime": regime_key(target),
                "year": src["year"],
                "speaker": src["speaker"],
            }
        )
    return items, pending, out_of_scope


def regime_key(target: str) -> str:
    """A slug of the target, for breakdowns and stratification ("US embargo on Cuba" -> us-...)."""
    words = re.sub(r"[^a-z0-9]+", " ", target.lower()).split()
    words = [w for w in words if w not in {"the", "a", "an"}]
    return "-".join(words) or "unknown"


def decade(year: int | None) -> str:
    """The decade of a UN speech; everything before the UN shares one bucket."""
    if year is None:
        return "unknown"
    return "pre-1946" if year < 1946 else f"{year // 10 * 10}s"


def doc_clusters(items: list[dict[str, Any]]) -> dict[str, str]:
    """Map each doc to a cluster id: docs sharing a near-duplicate sentence share a cluster."""
    parent = {d: d for d in {it["doc_id"] for it in items}}

    def find(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    texts = sorted({it["text"]: it["doc_id"] for it in items}.items())
    for i, j, _ in near_duplicates([t for t, _ in texts], [t for t, _ in texts]):
        a, b = find(texts[i][1]), find(texts[j][1])
        if a != b:
            parent[max(a, b)] = min(a, b)
    return {d: find(d) for d in parent}


def candidates(sentences: dict[str, dict[str, Any]], pairs: list[PassPair]) -> list[dict[str, Any]]:
    """Every item the first pass made, in scope or not: what the split is drawn over.

    The split depends only on the sentences and the first pass's targets, never on the labels
    or the adjudication, so adjudicating an item cannot move a speech to another split.
    """
    out = []
    for pair in pairs:
        src = sentences[pair.sentence_id]
        regime = regime_key(pair.target) if pair.target else "out-of-scope"
        out.append(
            {"text": src["text"], "doc_id": src["doc"], "regime": regime, "year": src["year"]}
        )
    return out


def assign_splits(items: list[dict[str, Any]], seed: int) -> dict[str, str]:
    """Map doc_id to split: whole clusters of speeches, stratified by decade and main regime."""
    cluster_of = doc_clusters(items)
    counts = Counter(it["regime"] for it in items)
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for it in items:
        members[cluster_of[it["doc_id"]]].append(it)

    def stratum(group: list[dict[str, Any]]) -> str:
        regime = Counter(it["regime"] for it in group).most_common(1)[0][0]
        regime = regime if counts[regime] >= MIN_STRATUM_REGIME else "other"
        return f"{decade(group[0]['year'])}/{regime}"

    strata: dict[str, list[str]] = defaultdict(list)
    for cluster, group in sorted(members.items()):
        strata[stratum(group)].append(cluster)
    rng = random.Random(seed)
    split_of: dict[str, str] = {}
    totals = dict.fromkeys(SPLITS, 0)
    for key in sorted(strata):
        clusters = strata[key]
        rng.shuffle(clusters)
        local = dict.fromkeys(SPLITS, 0)
        for cluster in clusters:
            size = len(members[cluster])
            # The split furthest below its share, in this stratum and then overall.
            n_local, n_total = sum(local.values()) + size, sum(totals.values()) + size
            name = max(
                SPLITS,
                key=lambda s: (SPLITS[s] * n_local - local[s], SPLITS[s] * n_total - totals[s]),
            )
            local[name] += size
            totals[name] += size
            for it in members[cluster]:
                split_of[it["doc_id"]] = name
    return split_of


def build_real(data: Path, seed: int, out: Path | None = None) -> dict[str, int]:
    """Write the real corpus' split files (into ``out``, default data/real); return counts."""
    paths = RealPaths(data)
    out_dir = out or paths.out
    out_dir.mkdir(parents=True, exist_ok=True)
    sentences = by_id(paths.sentences)
    pass1 = by_id(paths.annotation / "pass1.jsonl")
    pass2 = by_id(paths.annotation / "pass2.jsonl")
    adjudication_path = paths.annotation / "adjudication.jsonl"
    adjudication = by_id(adjudication_path) if adjudication_path.is_file() else {}
    unknown = sorted(set(pass1) - set(sentences))
    if unknown:
        raise ValueError(f"pass1 names sentences not in {paths.sentences}: {unknown[:5]}")
    pairs = pair_passes(pass1, pass2)
    items, pending, out_of_scope = final_items(sentences, pairs, adjudication)
    if pending:
        raise ValueError(
            f"{len(pending)} item(s) on which the passes disagree have no adjudication in "
            f"{adjudication_path}: {pending[:5]}"
        )
    excluded = by_id(paths.excluded) if paths.excluded.is_file() else {}
    kept = [it for it in items if it["id"] not in excluded]
    split_of = assign_splits(candidates(sentences, pairs), seed)
    counts: dict[str, int] = {}
    for name in SPLITS:
        rows = sorted((it for it in kept if split_of[it["doc_id"]] == name), key=lambda r: r["id"])
        text = "".join(
            json.dumps({k: r[k] for k in FIELDS}, ensure_ascii=False) + "\n" for r in rows
        )
        (out_dir / f"{name}.jsonl").write_text(text, encoding="utf-8")
        counts[name] = len(rows)
    counts["out_of_scope"] = out_of_scope
    counts["excluded"] = len(items) - len(kept)
    return counts


def check_real(data: Path) -> list[str]:
    """Problems with the real corpus' annotation files, or splits that differ from what they say.

    Every in-scope final item must be in exactly one split file with its final labels, and no
    split may hold anything else; each problem names the item.
    """
    paths = RealPaths(data)
    if not (paths.annotation / "pass1.jsonl").is_file():
        return []
    try:
        sentences = by_id(paths.sentences)
        pairs = pair_passes(
            by_id(paths.annotation / "pass1.jsonl"), by_id(paths.annotation / "pass2.jsonl")
        )
        adjudication_path = paths.annotation / "adjudication.jsonl"
        adjudication = by_id(adjudication_path) if adjudication_path.is_file() else {}
        items, pending, _ = final_items(sentences, pairs, adjudication)
    except (OSError, ValueError) as exc:
        return [f"real corpus: {exc}"]
    problems = [f"real corpus: item {i} has no second pass" for p in pairs if p.second is None
                for i in [p.id]]  # fmt: skip
    problems += [
        f"real corpus: the passes disagree on {i} and it has no adjudication" for i in pending
    ]
    problems += [
        f"{adjudication_path}: {i} gives no 'rule'"
        for i, row in adjudication.items()
        if not str(row.get("rule", "")).strip()
    ]
    excluded = by_id(paths.excluded) if paths.excluded.is_file() else {}
    want = {it["id"]: it for it in items if it["id"] not in excluded}
    seen: dict[str, str] = {}
    for name in SPLITS:
        path = paths.out / f"{name}.jsonl"
        if not path.is_file():
            problems.append(f"real corpus: split file {path} is missing; run `stance data build`")
            continue
        for row in read_jsonl(path):
            iid = row["id"]
            if iid in seen:
                problems.append(f"{path}: {iid} is also in split {seen[iid]}")
            seen[iid] = name
            final = want.get(iid)
            if final is None:
                problems.append(f"{path}: {iid} is not an in-scope final item of the passes")
            elif (row.get("stance"), row.get("sentiment"), row.get("target")) != (
                final["stance"],
                final["sentiment"],
                final["target"],
            ):
                problems.append(
                    f"{path}: {iid} differs from its final labels; run `stance data build`"
                )
    problems += [f"real corpus: final item {i} is in no split; run `stance data build`"
                 for i in sorted(set(want) - set(seen))]  # fmt: skip
    return problems
