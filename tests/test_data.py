import json
import re
from pathlib import Path

import pytest

from training.check import check_corpus, corpus_files
from training.corpus import GOLDEN_SOURCE, OUT_OF_REGIME, build
from training.data import read_examples

RAW = Path("data/written/raw")
ANNOTATION = Path("data/annotation/written")

ROW = {
    "id": "a",
    "text": "Sanctions work.",
    "target": "US sanctions",
    "stance": "favor",
    "sentiment": "positive",
    "doc_id": "d1",
}


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_read_examples_reports_every_bad_line(tmp_path):
    path = write(tmp_path / "x.jsonl", [ROW, ROW | {"stance": "pro"}, ROW | {"text": ""}])
    with pytest.raises(ValueError) as info:
        read_examples(path)
    msg = str(info.value)
    assert "2 problem(s)" in msg
    assert f"{path}:2: stance 'pro' not in ['favor', 'against', 'none']" in msg
    assert f"{path}:3: field 'text' must be a non-empty string" in msg


def test_check_finds_leakage_duplicates_and_imbalance(tmp_path):
    train = write(tmp_path / "train.jsonl", [ROW, ROW | {"id": "b"}])
    test = write(tmp_path / "test.jsonl", [ROW | {"id": "c", "text": "Sanctions  WORK!"}])
    report = check_corpus([train, test], min_share=0.15)
    text = "\n".join(report.problems)
    assert not report.ok
    assert f"{train}:2 (b): duplicate text for the same target (first at {train}:1 (a))" in text
    assert (
        f"{test}:1 (c): document 'd1' is also in split {tmp_path.name}/train ({train}:1 (a))"
        in (text)
    )
    assert f"{test}:1 (c): the same sentence is in splits" not in text  # normalised texts differ
    assert "label balance: " + tmp_path.name + " stance 'against' is 0.0% of the corpus" in text


def test_check_finds_fuzzy_near_duplicates_across_splits_and_against_eval_sets(tmp_path):
    a = ROW | {"text": "We reiterate our call for the lifting of the embargo against Cuba."}
    b = ROW | {
        "id": "b",
        "doc_id": "d2",
        "text": "We reiterate our call for lifting the embargo against Cuba.",
    }
    far = ROW | {
        "id": "c",
        "doc_id": "d3",
        "text": "The Council adopted the resolution unanimously.",
    }
    train = write(tmp_path / "train.jsonl", [a])
    test = write(tmp_path / "test.jsonl", [b, far])
    evaluation = write(tmp_path / "eval.jsonl", [far | {"id": "e1", "doc_id": "x"}])
    report = check_corpus([train, test], min_share=0.0, eval_sets=[evaluation])
    text = "\n".join(report.problems)
    pair = [p for p in report.problems if "evaluation item" not in p]
    assert len(pair) == 1 and "near-duplicate (similarity 94)" in pair[0], report.problems
    assert f"{train}:1 (a)" in pair[0] and f"{test}:1 (b)" in pair[0]
    assert (
        f"{test}:2 (c): near-duplicate (similarity 100) of evaluation item {evaluation}:1 (e1); "
        "add its id to data/real/excluded.jsonl" in text
    )
    assert len(report.problems) == 2, report.problems


def test_check_rejects_out_of_scope_items_in_splits(tmp_path):
    path = write(tmp_path / "train.jsonl", [ROW | {"relevant": False}])
    report = check_corpus([path], min_share=0.0)
    assert report.problems == [
        f"{path}:1: an out-of-scope item (relevant: false) is in a split file"
    ]


def test_project_corpus_passes_the_check():
    report = check_corpus(corpus_files(Path("data")))
    assert report.ok, report.problems


def test_project_corpus_covers_labels_and_keeps_seeds_out_of_every_split():
    rows = [r for f in corpus_files(Path("data")) for r in read_examples(f)]
    assert len(rows) >= 600
    seed_line = "Putin called US’ sanctions against Iran violation of human rights and said"
    assert not any(r.text.startswith(seed_line) for r in rows)
    assert not any(r.source == GOLDEN_SOURCE for r in rows)
    golden = Path("tests/golden/seed_sentences.jsonl").read_text(encoding="utf-8")
    assert seed_line in golden
    assert len({r.regime for r in rows}) >= 12


def test_build_is_deterministic_by_document_and_holds_out_regimes(tmp_path):
    a = build(RAW, tmp_path / "a", seed=13)
    b = build(RAW, tmp_path / "b", seed=13)
    assert a == b
    for name in a:
        assert (tmp_path / "a" / f"{name}.jsonl").read_bytes() == (
            tmp_path / "b" / f"{name}.jsonl"
        ).read_bytes()
    train = read_examples(tmp_path / "a" / "train.jsonl")
    oor = read_examples(tmp_path / "a" / "test_out_of_regime.jsonl")
    assert {e.regime for e in oor} <= set(OUT_OF_REGIME)
    assert not {e.regime for e in train} & set(OUT_OF_REGIME)
    docs = {name: {e.doc_id for e in read_examples(tmp_path / "a" / f"{name}.jsonl")} for name in a}
    names = list(docs)
    for i, x in enumerate(names):
        for y in names[i + 1 :]:
            assert not docs[x] & docs[y], (x, y)


def test_committed_splits_match_a_fresh_build(tmp_path):
    counts = build(RAW, tmp_path, seed=13, annotation=ANNOTATION)
    for name in counts:
        built = (tmp_path / f"{name}.jsonl").read_text()
        assert built == Path(f"data/written/{name}.jsonl").read_text(), name


def test_corpus_files_needs_split_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"no split files in {tmp_path}")):
        corpus_files(tmp_path)


def test_agreement_counts_confusions():
    from training.annotation import agreement

    first = {
        "a": {"stance": "favor", "sentiment": "neutral"},
        "b": {"stance": "none", "sentiment": "negative"},
        "c": {"stance": "against", "sentiment": "negative"},
    }
    second = {
        "a": {"stance": "favor", "sentiment": "neutral"},
        "b": {"stance": "favor", "sentiment": "negative"},
        "c": {"stance": "against", "sentiment": "negative"},
    }
    out = agreement(first, second)
    assert out["n"] == 3
    assert out["sentiment"]["kappa"] == 1.0
    assert out["stance"]["agreement"] == round(2 / 3, 3)
    assert out["stance"]["confusions"] == {"none->favor": 1}
    with pytest.raises(ValueError, match="second-pass ids not in the corpus"):
        agreement(first, second | {"zzz": first["a"]})


def test_stats_tables_cover_the_corpus():
    from training.annotation import corpus_stats

    text = corpus_stats(corpus_files(Path("data")))
    assert "| stance | items | share |" in text
    assert "| written/test_out_of_regime |" in text and "| real/validation |" in text
    assert "| region | items | share |" in text and "| Africa |" in text
    assert re.search(r"\| \d+ other regimes \| \d+ \|", text)  # the long tail in one row
    assert "| split | favor | against | none | positive | negative | neutral |" in text
