"""Error analysis for the report: target ablation, per-group breakdowns, confident errors.

A target-aware stance model that ignores its target is a known failure of BERT-style stance models
(Kaushal et al., 2021, "tWT-WT"); the ablation scores the stance head with the true target, with an
empty target and with a wrong one, and counts how many predictions the target changes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from model.labels import STANCE_LABELS
from model.predictor import Classifier
from training.data import Example
from training.evaluation import TaskResult

MIN_GROUP = 10


def wrong_targets(examples: list[Example]) -> list[str]:
    """For each item, a target of another item whose target differs (deterministic rotation)."""
    targets = [e.target for e in examples]
    n = len(targets)
    out = []
    for i, t in enumerate(targets):
        for step in range(n // 2, n // 2 + n):
            other = targets[(i + step) % n]
            if other.lower() != t.lower():
                out.append(other)
                break
        else:
            out.append("sanctions on Atlantis")
    return out


def target_ablation(clf: Classifier, examples: list[Example]) -> dict[str, Any]:
    """Stance macro-F1 with true, empty and wrong targets, and the share of changed labels."""
    texts = [e.text for e in examples]
    contexts = [e.context for e in examples]
    gold = [STANCE_LABELS.index(e.stance) for e in examples]
    variants = {
        "true": [e.target for e in examples],
        "empty": [""] * len(examples),
        "wrong": wrong_targets(examples),
    }
    preds = {
        k: clf.predict_proba(texts, v, contexts).stance.argmax(axis=1) for k, v in variants.items()
    }
    out: dict[str, Any] = {}
    for name, p in preds.items():
        out[name] = {"macro_f1": float(f1_score(gold, p, average="macro"))}
        if name != "true":
            out[name]["changed"] = float((p != preds["true"]).mean())
    return out


def breakdown(result: TaskResult, examples: list[Example], key: str) -> dict[str, dict[str, float]]:
    """Macro-F1 and accuracy per value of ``key`` (regime, source), for groups of 10+ items."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        groups[str(getattr(e, key) or "unknown")].append(i)
    out = {}
    for name, idx in sorted(groups.items()):
        if len(idx) < MIN_GROUP:
            continue
        y, p = result.y_true[idx], result.y_pred[idx]
        out[name] = {
            "n": len(idx),
            "macro_f1": float(f1_score(y, p, average="macro", labels=[0, 1, 2], zero_division=0)),
            "accuracy": float((y == p).mean()),
        }
    return out


def confident_errors(
    result: TaskResult, examples: list[Example], labels: tuple[str, ...], k: int = 8
) -> list[dict[str, Any]]:
    """The ``k`` wrong predictions made with the highest confidence."""
    wrong = np.flatnonzero(result.y_true != result.y_pred)
    order = wrong[np.argsort(-result.confidence[wrong])][:k]
    return [
        {
            "text": examples[i].text,
            "target": examples[i].target,
            "gold": labels[result.y_true[i]],
            "predicted": labels[result.y_pred[i]],
            "confidence": round(float(result.confidence[i]), 3),
        }
        for i in order
    ]
