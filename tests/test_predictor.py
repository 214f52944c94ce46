import re

import numpy as np
import pytest

from model.labels import check_label
from model.predictor import TaskProbabilities, check_inputs, softmax, to_predictions


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
    with pytest.raises(ValueError, match=re.escape("got 2 texts and 1 targets")):
        check_inputs(["a", "b"], ["t"])
    with pytest.raises(
        ValueError, match=re.escape("item 0: text and target must be strings, got int and str")
    ):
        check_inputs([3], ["t"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="not a single string"):
        check_inputs("abc", "t")


def test_check_label():
    assert check_label("stance", "favor") == "favor"
    with pytest.raises(
        ValueError,
        match=re.escape("invalid stance label 'pro': expected one of ['favor', 'against', 'none']"),
    ):
        check_label("stance", "pro")
