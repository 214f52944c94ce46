"""Scoring trained models: calibration, evaluation on every set, comparison, error analysis.

Example:
    results, comparisons = score_all({"transformer": clf}, {"test": examples}, seed=13)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm.auto import tqdm

from model.labels import TASKS
from model.metrics import Comparison
from model.predictor import Classifier, Temperatures, softmax
from training.analysis import breakdown, confident_errors, target_ablation
from training.calibration import expected_calibration_error, fit_temperature
from training.data import Example
from training.evaluation import TaskResult, evaluate, paired_comparison

# results[eval_set][backend][task] -> TaskResult
Results = dict[str, dict[str, dict[str, TaskResult]]]


def check_labels_present(examples: list[Example], split: str, tasks: list[str]) -> None:
    """Raise when a split lacks any label of a trained task (a model could not learn it)."""
    for task in tasks:
        labels = TASKS[task]
        found = {getattr(e, task) for e in examples}
        missing = [lab for lab in labels if lab not in found]
        if missing:
            raise ValueError(f"the {split} split has no {task} examples labelled {missing}")


def calibrate(clf: Classifier, validation: list[Example], tasks: list[str]) -> Temperatures:
    """Fit one temperature per trained task on validation logits and set it on ``clf``."""
    raw = clf.logits(
        [e.text for e in validation],
        [e.target for e in validation],
        [e.context for e in validation],
    )
    temps = {"stance": 1.0, "sentiment": 1.0}
    for task in tasks:
        labels = TASKS[task]
        y = np.array([labels.index(getattr(e, task)) for e in validation])
        temps[task] = fit_temperature(raw[task], y)
    clf.temperatures = Temperatures(
        stance=temps["stance"], sentiment=temps["sentiment"], fitted=True
    )
    return clf.temperatures


def calibration_effect(models: dict[str, Classifier], results: Results) -> dict[str, Any]:
    """ECE before (T = 1) and after temperature scaling, per set, backend and task.

    Calibrated probabilities are softmax(z / T), so softmax(T * log p) recovers the uncalibrated
    ones exactly without another forward pass.
    """
    out: dict[str, Any] = {}
    for name, by_backend in results.items():
        out[name] = {}
        for backend, by_task in by_backend.items():
            temps = models[backend].temperatures
            out[name][backend] = {}
            for task, res in by_task.items():
                t = getattr(temps, task)
                before = softmax(t * np.log(np.clip(res.probs, 1e-300, 1.0)))
                out[name][backend][task] = {
                    "temperature": round(float(t), 4),
                    "ece_before": expected_calibration_error(before, res.y_true)[0],
                    "ece_after": res.ece,
                }
    return out


def analyse(
    models: dict[str, Classifier], sets: dict[str, list[Example]], results: Results
) -> dict[str, Any]:
    """Target ablation, per-regime and per-source breakdowns, confident errors (stance)."""
    out: dict[str, Any] = {}
    for name, examples in sets.items():
        out[name] = {
            backend: {
                "target_ablation": target_ablation(clf, examples),
                "by_regime": breakdown(results[name][backend]["stance"], examples, "regime"),
                "by_target": breakdown(results[name][backend]["stance"], examples, "target"),
                "by_source": breakdown(results[name][backend]["stance"], examples, "source"),
                "confident_errors": confident_errors(
                    results[name][backend]["stance"], examples, TASKS["stance"]
                ),
            }
            for backend, clf in models.items()
        }
    return out


def score_all(
    models: dict[str, Classifier], sets: dict[str, list[Example]], seed: int
) -> tuple[Results, dict[str, dict[str, Comparison]]]:
    """Evaluate every model on every set; compare transformer with baseline where both exist."""
    results: Results = {}
    comparisons: dict[str, dict[str, Comparison]] = {}
    for name, examples in tqdm(sets.items(), desc="evaluate", leave=False):
        results[name] = {b: evaluate(m, examples, seed) for b, m in models.items()}
        if {"transformer", "baseline"} <= set(models):
            t, b = results[name]["transformer"], results[name]["baseline"]
            comparisons[name] = {
                task: paired_comparison(t[task], b[task], examples, seed) for task in TASKS
            }
    return results, comparisons
