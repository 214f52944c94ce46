import json
import re
from pathlib import Path

import pytest

from training.corpus import OUT_OF_REGIME, build
from training.data import check_corpus, corpus_files, read_examples

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
    report = check_corpus([train, test])
    text = "\n".join(report.problems)
    assert not report.ok
    assert "duplicate id 'a'" not in text
    assert "duplicate text for the same target (first at line 1)" in text
    assert "document 'd1' is also in split 'train'" in text
    assert "near-duplicate of a sentence in split 'train'" in text
    assert "label balance: stance 'against' is 0.0% of the corpus, below the minimum 15%" in text


def test_project_corpus_passes_the_check():
    report = check_corpus(corpus_files(Path("data")))
    assert report.ok, report.problems


def test_project_corpus_covers_labels_and_seeds():
    rows = [r for f in corpus_files(Path("data")) for r in read_examples(f)]
    assert len(rows) >= 600
    texts = {r.text for r in rows}
    seed_line = "Putin called US’ sanctions against Iran violation of human rights and said"
    assert any(t.startswith(seed_line) for t in texts)
    assert len({r.regime for r in rows}) >= 12


def test_build_is_deterministic_by_document_and_holds_out_regimes(tmp_path):
    a = build(Path("data/raw"), tmp_path / "a", seed=13)
    b = build(Path("data/raw"), tmp_path / "b", seed=13)
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
    counts = build(
        Path("data/raw"), tmp_path, seed=13, adjudication=Path("data/annotation/adjudication.jsonl")
    )
    for name in counts:
        assert (tmp_path / f"{name}.jsonl").read_text() == Path(f"data/{name}.jsonl").read_text(), (
            name
        )


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
    assert "| test_out_of_regime |" in text
