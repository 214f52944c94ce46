"""Metrics for both tasks (scikit-learn), with document-level bootstrap confidence intervals.

Stance also gets the SemEval-2016 Task 6 score F_avg = (F1_favor + F1_against) / 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from model.labels import TASKS
from model.metrics import Comparison, Confusion, TaskScores
from model.predictor import Classifier, TaskProbabilities
from training.calibration import expected_calibration_error
from training.data import Example, docs_of

N_BOOTSTRAP = 1000


def f_avg(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """SemEval-2016 stance score: mean F1 of favor and against (label ids 0 and 1)."""
    f1s = f1_score(y_true, y_pred, labels=[0, 1], average=None, zero_division=0)
    return float(np.mean(f1s))


def _point(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    labels = list(range(len(TASKS[task])))
    out = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
    }
    if task == "stance":
        out["f_avg"] = f_avg(y_true, y_pred)
    return out


def metrics_from_confusion(task: str, cm: np.ndarray) -> dict[str, float]:
    """Accuracy, macro-F1 (and F_avg for stance) from a confusion matrix.

    Used inside the bootstrap, where calling scikit-learn per resample is too slow; a test checks
    that it equals scikit-learn's metrics on the same predictions.
    """
    tp = np.diag(cm).astype(float)
    pred, gold = cm.sum(axis=0), cm.sum(axis=1)
    denom = pred + gold
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    out = {"accuracy": float(tp.sum() / max(cm.sum(), 1)), "macro_f1": float(f1.mean())}
    if task == "stance":
        out["f_avg"] = float(f1[:2].mean())
    return out


def doc_confusions(
    task: str, y_true: np.ndarray, y_pred: np.ndarray, groups: list[np.ndarray]
) -> np.ndarray:
    """One confusion matrix per document, shape (n_docs, k, k)."""
    labels = list(range(len(TASKS[task])))
    return np.stack([confusion_matrix(y_true[g], y_pred[g], labels=labels) for g in groups])


def bootstrap_ci(
    task: str,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: list[np.ndarray],
    seed: int,
    n: int = N_BOOTSTRAP,
) -> dict[str, list[float]]:
    """95% percentile intervals, resampling whole documents with replacement."""
    rng = np.random.default_rng(seed)
    per_doc = doc_confusions(task, y_true, y_pred, groups)
    draws: dict[str, list[float]] = {}
    for _ in range(n):
        cm = per_doc[rng.integers(0, len(groups), len(groups))].sum(axis=0)
        for k, v in metrics_from_confusion(task, cm).items():
            draws.setdefault(k, []).append(v)
    return {
        k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in draws.items()
    }


@dataclass
class TaskResult:
    """Metrics of one task on one evaluation set."""

    task: str
    metrics: dict[str, float]
    ci95: dict[str, list[float]]
    per_class: dict[str, dict[str, float]]
    confusion: list[list[int]]
    ece: float
    reliability: list[dict[str, float]]
    y_true: np.ndarray = field(repr=False)
    y_pred: np.ndarray = field(repr=False)
    confidence: np.ndarray = field(repr=False)
    probs: np.ndarray = field(repr=False)

    def scores(self) -> TaskScores:
        """The metrics as ``metrics.json`` stores them (without the per-item arrays)."""
        return TaskScores(
            metrics=self.metrics,
            ci95=self.ci95,
            per_class=self.per_class,
            confusion=Confusion(labels=list(TASKS[self.task]), matrix=self.confusion),
            ece=self.ece,
            reliability=self.reliability,
        )


def score_task(task: str, probs: np.ndarray, examples: list[Example], seed: int) -> TaskResult:
    """Score one task's probabilities against the gold labels of ``examples``."""
    labels = TASKS[task]
    y_true = np.array([labels.index(getattr(e, task)) for e in examples])
    y_pred = probs.argmax(axis=1)
    groups = [np.array(v) for v in docs_of(examples).values()]
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=list(range(len(labels))), zero_division=0
    )
    ece, bins = expected_calibration_error(probs, y_true)
    return TaskResult(
        task=task,
        metrics=_point(task, y_true, y_pred) | {"n": len(examples)},
        ci95=bootstrap_ci(task, y_true, y_pred, groups, seed),
        per_class={
            lab: {
                "precision": float(p[i]),
                "recall": float(r[i]),
                "f1": float(f[i]),
                "support": int(s[i]),
            }
            for i, lab in enumerate(labels)
        },
        confusion=confusion_matrix(y_true, y_pred, labels=list(range(len(labels)))).tolist(),
        ece=ece,
        reliability=bins,
        y_true=y_true,
        y_pred=y_pred,
        confidence=probs.max(axis=1),
        probs=probs,
    )


def evaluate(clf: Classifier, examples: list[Example], seed: int = 0) -> dict[str, TaskResult]:
    """Score ``clf`` on ``examples`` for both tasks."""
    probs: TaskProbabilities = clf.predict_proba(
        [e.text for e in examples], [e.target for e in examples], [e.context for e in examples]
    )
    return {task: score_task(task, probs.for_task(task), examples, seed) for task in TASKS}


N_PERMUTATIONS = 9999


def macro_f1_of(cm: np.ndarray) -> np.ndarray:
    """Macro-F1 of confusion matrices stacked on the leading axes, shape (..., k, k)."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(float)
    denom = cm.sum(axis=-2) + cm.sum(axis=-1)
    f1 = np.divide(2 * tp, denom, out=np.zeros(tp.shape), where=denom > 0)
    return np.asarray(f1.mean(axis=-1))


def paired_comparison(
    a: TaskResult, b: TaskResult, examples: list[Example], seed: int, n: int = N_BOOTSTRAP
) -> Comparison:
    """Macro-F1(a) - macro-F1(b) on the same items: a paired test and a paired interval.

    The p-value is a two-sided paired permutation test (``scipy.stats.permutation_test``): under
    the null hypothesis the two systems are exchangeable, so each document's predictions are
    swapped between them at random (documents, not sentences, are the unit, as in the bootstrap).
    Its resolution (the smallest p it can give) is 2 / (permutations + 1). The 95% interval is a
    paired document bootstrap.
    """
    from scipy.stats import permutation_test

    groups = [np.array(v) for v in docs_of(examples).values()]
    cm_a = doc_confusions(a.task, a.y_true, a.y_pred, groups)
    cm_b = doc_confusions(b.task, b.y_true, b.y_pred, groups)
    both = np.concatenate([cm_a, cm_b])
    k = len(groups)

    def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        diff: np.ndarray = macro_f1_of(both[x].sum(axis=-3)) - macro_f1_of(both[y].sum(axis=-3))
        return diff

    test = permutation_test(
        (np.arange(k), np.arange(k) + k),
        statistic,
        permutation_type="samples",
        n_resamples=N_PERMUTATIONS,
        vectorized=True,
        batch=1000,
        random_state=seed,
    )
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, k, (n, k))
    draws = macro_f1_of(cm_a[picked].sum(axis=1)) - macro_f1_of(cm_b[picked].sum(axis=1))
    return Comparison(
        difference=a.metrics["macro_f1"] - b.metrics["macro_f1"],
        ci95_low=float(np.percentile(draws, 2.5)),
        ci95_high=float(np.percentile(draws, 97.5)),
        p_value=float(test.pvalue),
        permutations=N_PERMUTATIONS,
        # two-sided: twice the one-sided share, whose smallest value is 1 / (permutations + 1)
        p_resolution=2 / (N_PERMUTATIONS + 1),
    )


def format_p(p: float, resolution: float) -> str:
    """``p = 0.0213``, or ``p <= 0.0002`` when p is the smallest value the test can give."""
    if p <= resolution:
        return f"p <= {resolution:.4f}"
    return f"p = {p:.4f}"
