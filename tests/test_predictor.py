import re

import numpy as np
import pytest

from model.predictor import (
    CalibratedMixin,
    TaskProbabilities,
    Temperatures,
    check_inputs,
    softmax,
    to_predictions,
)


def test_softmax_rows_sum_to_one_and_temperature_flattens():
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    p1, p3 = softmax(logits, 1.0), softmax(logits, 3.0)
    np.testing.assert_allclose(p1.sum(axis=1), 1.0)
    assert p3[0, 0] < p1[0, 0]  # a higher temperature is less confident
    np.testing.assert_allclose(p1[1], [1 / 3] * 3)


def test_to_predictions_uses_label_order():
    probs = TaskProbabilities(
        stance=np.array([[0.1, 0.7, 0.2]]), sentiment=np.array([[0.6, 0.3, 0.1]])
    )
    (pred,) = to_predictions(probs)
    assert pred.stance == "against"
    assert pred.sentiment == "positive"
    assert list(pred.stance_scores) == ["favor", "against", "none"]
    assert list(pred.sentiment_scores) == ["positive", "negative", "neutral"]


def test_check_inputs_rejects_mismatch_and_non_strings():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "texts, targets and contexts must have the same length: got 2 texts, 1 targets"
        ),
    ):
        check_inputs(["a", "b"], ["t"])
    with pytest.raises(ValueError, match=re.escape("got 1 texts, 1 targets and 2 contexts")):
        check_inputs(["a"], ["t"], [None, None])
    with pytest.raises(
        ValueError, match=re.escape("item 0: context must be a string or null, got 5")
    ):
        check_inputs(["a"], ["t"], [5])  # type: ignore[list-item]
    with pytest.raises(
        ValueError, match=re.escape("item 0: text and target must be strings, got int and str")
    ):
        check_inputs([3], ["t"])  # type: ignore[list-item]
    with pytest.raises(
        ValueError,
        match=re.escape("texts, targets and contexts must be lists of strings, not one string"),
    ):
        check_inputs("abc", "t")


class Fixed(CalibratedMixin):
    """A backend whose logits favour the label given by each text's first word."""

    def __init__(self) -> None:
        self.temperatures = Temperatures()
        self.seen: list[str] = []

    def windows(self, text, target):
        words = text.split()
        return [" ".join(words[i : i + 2]) for i in range(0, len(words), 2)]

    def logits(self, texts, targets, contexts=None):
        self.seen += list(texts)
        z = np.zeros((len(texts), 3))
        for i, t in enumerate(texts):
            z[i, ["favor", "against", "none"].index(t.split()[0])] = 10.0
        return {"stance": z, "sentiment": z.copy()}


def test_long_texts_are_read_in_windows_whose_probabilities_are_averaged():
    clf = Fixed()
    probs = clf.predict_proba(["favor x against y", "none z"], ["t", "t"])
    assert clf.seen == ["favor x", "against y", "none z"]
    assert probs.windows.tolist() == [2, 1]
    np.testing.assert_allclose(probs.stance[0], [0.5, 0.5, 0.0], atol=1e-4)
    np.testing.assert_allclose(probs.stance.sum(axis=1), 1.0)
    assert [p.windows for p in to_predictions(probs)] == [2, 1]


def test_empty_input_gives_empty_output():
    probs = Fixed().predict_proba([], [])
    assert probs.stance.shape == (0, 3) and probs.windows.shape == (0,)
