from pathlib import Path

import numpy as np
import pytest

from model import load_classifier
from model.document import classify_document, document_items, split_sentences


def test_split_keeps_offsets_and_handles_abbreviations_quotes_headlines():
    text = (
        "SANCTIONS LOOM OVER TEHRAN\nMr. Smith met U.S. officials on Jan. 5 in Washington. "
        'He said: "Sanctions work." Did they? Prices rose 3.5 per cent.'
    )
    spans = split_sentences(text)
    assert [s.text for s in spans] == [
        "SANCTIONS LOOM OVER TEHRAN",
        "Mr. Smith met U.S. officials on Jan. 5 in Washington.",
        'He said: "Sanctions work."',
        "Did they?",
        "Prices rose 3.5 per cent.",
    ]
    for s in spans:
        assert text[s.start : s.end] == s.text


def test_seed_documents_split_into_their_paragraph_sentences():
    for path in Path("seeds").glob("*.txt"):
        text = path.read_text(encoding="utf-8")
        spans = split_sentences(text)
        assert len(spans) >= 8
        assert all(text[s.start : s.end] == s.text for s in spans)


def test_document_items_give_every_sentence_its_previous_one_as_context():
    spans = split_sentences("First one. Second one. Third one.")
    texts, targets, contexts = document_items(spans, ["A", "B"])
    assert texts == ["First one.", "Second one.", "Third one."] * 2
    assert targets == ["A"] * 3 + ["B"] * 3
    assert contexts == [None, "First one.", "Second one."] * 2


@pytest.fixture(scope="module")
def clf(tiny_run):
    return load_classifier(Path(tiny_run["artifact_root"]) / "transformer")


def test_classify_document_aggregates_per_target(clf):
    text = (
        "Sanctions on Iran are illegal. The talks resume on Monday. Embargo "
        + " ".join(["embargo"] * 250)
        + "."
    )
    results = classify_document(clf, text, ["US sanctions on Iran", "UN sanctions on Iraq"])
    assert [r.target for r in results] == ["US sanctions on Iran", "UN sanctions on Iraq"]
    for r in results:
        assert len(r.sentences) == 3
        assert r.sentences[2]["windows"] > 1  # the long sentence was windowed, not cut
        assert r.stance in ("favor", "against", "none")
        assert np.isclose(sum(r.stance_distribution.values()), 1.0)
        assert np.isclose(sum(r.sentiment_distribution.values()), 1.0)
        assert all(r.sentences[i]["stance"] == r.stance for i in r.evidence)


def test_empty_document_is_a_clear_error(clf):
    with pytest.raises(ValueError, match="the document has no sentences: send non-empty text"):
        classify_document(clf, "   \n  ", ["US sanctions"])


def test_the_document_side_is_always_the_side_of_a_sentence():
    from model.document import Span, aggregate
    from model.predictor import TaskProbabilities

    # two sentences lean favor without taking it; one takes against: the document is against
    stance = np.array([[0.45, 0.05, 0.50], [0.45, 0.05, 0.50], [0.10, 0.60, 0.30]])
    sentiment = np.full((3, 3), 1 / 3)
    spans = [Span(0, 1, "a"), Span(2, 3, "b"), Span(4, 5, "c")]
    result = aggregate(spans, TaskProbabilities(stance, sentiment, np.ones(3, dtype=np.int64)), "t")
    assert result.stance == "against" and result.evidence == [2]
    assert np.isclose(result.stance_confidence, 0.6 / 0.7)
