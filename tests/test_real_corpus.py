"""The real corpus: passes lined up, adjudication applied, splits by speech, the committed files."""

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from training.annotation import agreement_report
from training.check import check_corpus, corpus_files
from training.real_corpus import (
    SPLITS,
    PassPair,
    agrees,
    build_real,
    by_id,
    check_real,
    final_items,
    pair_passes,
)

SENTENCES = {
    "s-1": {"id": "s-1", "source": "ungd", "doc": "d1", "year": 1985, "speaker": "CUB",
            "context": "", "text": "The blockade must end."},
    "s-2": {"id": "s-2", "source": "ungd", "doc": "d2", "year": 1986, "speaker": "GBR",
            "context": "Earlier.", "text": "Sanctions are a sanction of conscience."},
}  # fmt: skip


def test_passes_line_up_per_item_and_scope_items_take_the_adjudicated_target():
    pass1 = {
        "s-1": {"id": "s-1", "relevant": True, "items": [
            {"target": "US embargo on Cuba", "stance": "against", "sentiment": "neutral"},
            {"target": "UN sanctions", "stance": "none", "sentiment": "neutral"}]},
        "s-2": {"id": "s-2", "relevant": False, "items": []},
    }  # fmt: skip
    pass2 = {
        "s-1": {"id": "s-1", "relevant": True, "stance": "against", "sentiment": "negative"},
        "s-1-2": {"id": "s-1-2", "relevant": True, "stance": "none", "sentiment": "neutral"},
        "s-2": {"id": "s-2", "relevant": True, "target": "sanctions on X", "stance": "favor",
                "sentiment": "neutral"},
    }  # fmt: skip
    pairs = pair_passes(pass1, pass2)
    assert [(p.id, p.target) for p in pairs] == [
        ("s-1", "US embargo on Cuba"), ("s-1-2", "UN sanctions"), ("s-2", "")
    ]  # fmt: skip
    assert [agrees(p) for p in pairs] == [False, True, False]
    items, pending, out_of_scope = final_items(SENTENCES, pairs, {})
    assert [i["id"] for i in items] == ["s-1-2"] and pending == ["s-1", "s-2"]
    adjudication = {
        "s-1": {"id": "s-1", "relevant": True, "stance": "against", "sentiment": "neutral",
                "rule": "R4"},
        "s-2": {"id": "s-2", "relevant": True, "target": "sanctions on X", "stance": "favor",
                "sentiment": "neutral", "rule": "R21"},
    }  # fmt: skip
    items, pending, out_of_scope = final_items(SENTENCES, pairs, adjudication)
    assert pending == [] and out_of_scope == 0
    by = {i["id"]: i for i in items}
    assert by["s-1"]["sentiment"] == "neutral" and by["s-1"]["context"] is None
    assert by["s-2"]["target"] == "sanctions on X" and by["s-2"]["regime"] == "sanctions-on-x"
    assert by["s-2"]["context"] == "Earlier."


def test_an_out_of_scope_agreement_drops_the_item():
    pair = PassPair("s-2", "s-2", "", {"relevant": False}, {"relevant": False})
    items, pending, out_of_scope = final_items(SENTENCES, [pair], {})
    assert (items, pending, out_of_scope) == ([], [], 1)


def test_a_bad_line_in_a_pass_file_names_the_file_and_line(tmp_path):
    path = tmp_path / "pass1.jsonl"
    path.write_text('{"id": "a"}\n{oops\n')
    with pytest.raises(ValueError, match=re.escape(f"{path}:2: not valid JSON")):
        by_id(path)
    path.write_text('{"id": "a"}\n{"id": "a"}\n')
    with pytest.raises(ValueError, match=re.escape(f"{path}: id 'a' appears twice")):
        by_id(path)


def test_committed_real_splits_match_a_fresh_build(tmp_path):
    counts = build_real(Path("data"), seed=13, out=tmp_path)
    for name in SPLITS:
        assert (tmp_path / f"{name}.jsonl").read_text() == Path(
            f"data/real/{name}.jsonl"
        ).read_text(), name
    total = sum(counts[name] for name in SPLITS)
    assert total >= 4000
    for name in ("validation", "test"):
        assert counts[name] / total >= 0.15, (name, counts)


def test_committed_real_corpus_is_consistent_and_split_by_speech():
    assert check_real(Path("data")) == []
    docs: dict[str, str] = {}
    for name in SPLITS:
        for line in Path(f"data/real/{name}.jsonl").read_text().splitlines():
            row = json.loads(line)
            assert docs.setdefault(row["doc_id"], name) == name
    sources = Counter(
        json.loads(x)["source"]
        for name in SPLITS
        for x in Path(f"data/real/{name}.jsonl").read_text().splitlines()
    )
    assert sources["presidential"] >= 80 and sources["ungd"] >= 4000


def test_every_presidential_sentence_has_both_passes():
    pass1 = by_id(Path("data/annotation/real/pass1.jsonl"))
    pairs = pair_passes(pass1, by_id(Path("data/annotation/real/pass2.jsonl")))
    assert sum(1 for k in pass1 if k.startswith("presidential-")) == 112
    assert all(p.second is not None for p in pairs)


def test_agreement_before_adjudication_meets_the_corpus_bar():
    report = agreement_report(Path("data"))
    real = report["real/pass1_vs_pass2"]
    assert real["n"] >= 4000
    assert real["stance"]["kappa"] >= 0.75 and real["sentiment"]["kappa"] >= 0.70
    assert "written/recalibration_pass" in report and "written/second_pass" in report


def test_whole_data_folder_passes_the_check():
    report = check_corpus(corpus_files(Path("data")))
    assert report.ok, report.problems[:5]
