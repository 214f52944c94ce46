"""The contract both backends honour, and the calibrated-probability helpers they share.

A backend turns (text, target) pairs into logits for both tasks at once; this module turns logits
into temperature-scaled probabilities and label predictions, so evaluation and serving code never
care which backend they hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from model.labels import SENTIMENT_LABELS, STANCE_LABELS, TASKS

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class TaskProbabilities:
    """Probabilities for a batch, one (n, 3) array per task, columns in label order."""

    stance: FloatArray
    sentiment: FloatArray

    def for_task(self, task: str) -> FloatArray:
        """Return the probability array of ``task`` ("stance" or "sentiment")."""
        if task == "stance":
            return self.stance
        if task == "sentiment":
            return self.sentiment
        raise ValueError(f"unknown task {task!r}: expected one of {sorted(TASKS)}")


@dataclass(frozen=True)
class Prediction:
    """One sentence's answer: labels and their probability distributions."""

    stance: str
    stance_scores: dict[str, float]
    sentiment: str
    sentiment_scores: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        """Return the four contract fields as a JSON-ready dict."""
        return {
            "stance": self.stance,
            "stance_scores": self.stance_scores,
            "sentiment": self.sentiment,
            "sentiment_scores": self.sentiment_scores,
        }


@dataclass
class Temperatures:
    """Per-task temperatures for calibration (Guo et al. 2017, "On Calibration of Modern NNs")."""

    stance: float = 1.0
    sentiment: float = 1.0
    fitted: bool = field(default=False)

    def as_dict(self) -> dict[str, float | bool]:
        """Return a JSON-ready dict."""
        return {"stance": self.stance, "sentiment": self.sentiment, "fitted": self.fitted}


def softmax(logits: FloatArray, temperature: float = 1.0) -> FloatArray:
    """Numerically stable softmax over the last axis of ``logits / temperature``."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: FloatArray = e / e.sum(axis=-1, keepdims=True)
    return out


def check_inputs(texts: Sequence[str], targets: Sequence[str]) -> None:
    """Raise ValueError unless texts and targets are equally long sequences of strings."""
    if isinstance(texts, str) or isinstance(targets, str):
        raise ValueError("texts and targets must be lists of strings, not a single string")
    if len(texts) != len(targets):
        raise ValueError(
            f"texts and targets must have the same length: got {len(texts)} texts "
            f"and {len(targets)} targets"
        )
    for i, (text, target) in enumerate(zip(texts, targets, strict=True)):
        if not isinstance(text, str) or not isinstance(target, str):
            raise ValueError(
                f"item {i}: text and target must be strings, got "
                f"{type(text).__name__} and {type(target).__name__}"
            )


def to_predictions(probs: TaskProbabilities) -> list[Prediction]:
    """Turn per-task probability arrays into per-sentence Prediction objects."""
    out = []
    for s_row, m_row in zip(probs.stance, probs.sentiment, strict=True):
        out.append(
            Prediction(
                stance=STANCE_LABELS[int(np.argmax(s_row))],
                stance_scores={k: float(v) for k, v in zip(STANCE_LABELS, s_row, strict=True)},
                sentiment=SENTIMENT_LABELS[int(np.argmax(m_row))],
                sentiment_scores={
                    k: float(v) for k, v in zip(SENTIMENT_LABELS, m_row, strict=True)
                },
            )
        )
    return out


class Classifier(Protocol):
    """What both backends provide."""

    backend: str
    temperatures: Temperatures

    def logits(self, texts: Sequence[str], targets: Sequence[str]) -> dict[str, FloatArray]:
        """Return uncalibrated logits, {"stance": (n, 3), "sentiment": (n, 3)}."""
        ...

    def predict_proba(self, texts: Sequence[str], targets: Sequence[str]) -> TaskProbabilities:
        """Return calibrated probabilities for both tasks."""
        ...

    def predict(self, texts: Sequence[str], targets: Sequence[str]) -> list[Prediction]:
        """Return one Prediction per input pair."""
        ...

    def save(self, directory: Path) -> None:
        """Write the artifact directory."""
        ...


class CalibratedMixin:
    """predict_proba/predict on top of a backend's ``logits`` and ``temperatures``."""

    temperatures: Temperatures

    def logits(self, texts: Sequence[str], targets: Sequence[str]) -> dict[str, FloatArray]:
        """Return uncalibrated logits; each backend implements this."""
        raise NotImplementedError

    def predict_proba(self, texts: Sequence[str], targets: Sequence[str]) -> TaskProbabilities:
        """Return temperature-scaled probabilities for both tasks."""
        check_inputs(texts, targets)
        if len(texts) == 0:
            empty = np.zeros((0, 3), dtype=np.float64)
            return TaskProbabilities(stance=empty, sentiment=empty.copy())
        raw = self.logits(texts, targets)
        return TaskProbabilities(
            stance=softmax(raw["stance"], self.temperatures.stance),
            sentiment=softmax(raw["sentiment"], self.temperatures.sentiment),
        )

    def predict(self, texts: Sequence[str], targets: Sequence[str]) -> list[Prediction]:
        """Return one Prediction per (text, target) pair."""
        return to_predictions(self.predict_proba(texts, targets))
