import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from training.calibration import expected_calibration_error, fit_temperature, nll
from training.data import Example
from training.evaluation import format_p, metrics_from_confusion, paired_comparison, score_task


def _examples(gold: list[int], docs: list[str]) -> list[Example]:
    labels = ["favor", "against", "none"]
    return [
        Example(id=str(i), text="t", target="x", stance=labels[g], sentiment="neutral", doc_id=d)
        for i, (g, d) in enumerate(zip(gold, docs, strict=True))
    ]


def test_confusion_metrics_equal_scikit_learn():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 3, 200), rng.integers(0, 3, 200)
    cm = confusion_matrix(y_true, y_pred, labels=[0, 1, 2])
    got = metrics_from_confusion("stance", cm)
    assert np.isclose(got["accuracy"], accuracy_score(y_true, y_pred))
    assert np.isclose(got["macro_f1"], f1_score(y_true, y_pred, average="macro"))
    assert np.isclose(got["f_avg"], f1_score(y_true, y_pred, labels=[0, 1], average="macro"))


def test_score_task_metrics_and_interval():
    gold = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0] * 4
    docs = [f"d{i // 4}" for i in range(40)]
    probs = np.eye(3)[gold] * 0.8 + 0.2 / 3
    probs[0] = [0.1, 0.8, 0.1]  # one mistake
    res = score_task("stance", probs, _examples(gold, docs), seed=1)
    assert res.metrics["n"] == 40
    assert np.isclose(res.metrics["accuracy"], 39 / 40)
    lo, hi = res.ci95["macro_f1"]
    assert lo <= res.metrics["macro_f1"] <= hi <= 1.0
    assert sum(map(sum, res.confusion)) == 40
    assert res.per_class["favor"]["support"] == 16


def test_paired_comparison_prefers_the_better_model():
    gold = [0, 1, 2] * 30
    docs = [f"d{i // 3}" for i in range(90)]
    ex = _examples(gold, docs)
    good = score_task("stance", np.eye(3)[gold], ex, seed=0)
    rng = np.random.default_rng(1)
    bad = score_task("stance", np.eye(3)[rng.integers(0, 3, 90)], ex, seed=0)
    comp = paired_comparison(good, bad, ex, seed=0)
    assert comp.difference > 0.3
    assert comp.ci95_low > 0
    assert comp.p_value == comp.p_resolution == 2 / 10000  # no permutation beats the observed
    assert format_p(comp.p_value, comp.p_resolution) == "p <= 0.0002"
    assert format_p(0.02134, comp.p_resolution) == "p = 0.0213"


def test_paired_permutation_test_does_not_reject_identical_systems():
    gold = [0, 1, 2] * 30
    docs = [f"d{i // 3}" for i in range(90)]
    ex = _examples(gold, docs)
    rng = np.random.default_rng(3)
    preds = rng.integers(0, 3, 90)
    a = score_task("stance", np.eye(3)[preds], ex, seed=0)
    b = score_task("stance", np.eye(3)[preds], ex, seed=0)
    comp = paired_comparison(a, b, ex, seed=0)
    assert comp.difference == 0
    assert comp.p_value == 1.0


def test_paired_permutation_p_value_matches_an_exact_enumeration():
    # 4 documents: the exact two-sided p-value over all 2**4 swaps is computable by hand
    import itertools

    from training.evaluation import doc_confusions, macro_f1_of

    gold = [0, 1, 2, 0, 1, 2, 0, 1]
    docs = ["a", "a", "b", "b", "c", "c", "d", "d"]
    ex = _examples(gold, docs)
    pa = np.array([0, 1, 2, 0, 1, 0, 0, 1])
    pb = np.array([0, 2, 2, 1, 1, 0, 2, 1])
    a = score_task("stance", np.eye(3)[pa], ex, seed=0)
    b = score_task("stance", np.eye(3)[pb], ex, seed=0)
    groups = [np.array([0, 1]), np.array([2, 3]), np.array([4, 5]), np.array([6, 7])]
    ca = doc_confusions("stance", a.y_true, a.y_pred, groups)
    cb = doc_confusions("stance", b.y_true, b.y_pred, groups)
    observed = macro_f1_of(ca.sum(0)) - macro_f1_of(cb.sum(0))
    stats = []
    for swap in itertools.product([0, 1], repeat=4):
        x = sum(cb[i] if s else ca[i] for i, s in enumerate(swap))
        y = sum(ca[i] if s else cb[i] for i, s in enumerate(swap))
        stats.append(macro_f1_of(x) - macro_f1_of(y))
    exact = np.mean(np.abs(stats) >= abs(observed) - 1e-12)
    comp = paired_comparison(a, b, ex, seed=0)
    assert np.isclose(comp.difference, observed)
    assert np.isclose(comp.p_value, exact)  # scipy enumerates all 16 when it can


def test_temperature_scaling_reduces_nll_of_overconfident_logits():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 500)
    logits = rng.normal(size=(500, 3))
    logits[np.arange(500), labels] += 1.0
    logits *= 6  # overconfident
    t = fit_temperature(logits, labels)
    assert t > 2
    assert nll(logits, labels, t) < nll(logits, labels, 1.0)
    probs_before = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    ece_before, bins = expected_calibration_error(probs_before, labels)
    z = logits / t
    probs_after = np.exp(z - z.max(1, keepdims=True))
    probs_after /= probs_after.sum(1, keepdims=True)
    assert expected_calibration_error(probs_after, labels)[0] < ece_before
    assert sum(b["count"] for b in bins) == 500
