"""The contract both backends honour, and the calibrated-probability path they share.

A backend turns (text, target, context) items into logits for both tasks at once; this module
turns logits into temperature-scaled probabilities and label predictions. Every caller (evaluation,
the CLI, the HTTP service, documents) goes through ``predict_proba``, which splits a sentence too
long for the model into overlapping windows and averages their probabilities, so nothing is ever
silently cut and evaluation scores exactly what is served.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from model.labels import SENTIMENT_LABELS, STANCE_LABELS, TASKS

if TYPE_CHECKING:
    from model.artifact import ArtifactConfig

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Contexts = Sequence[str | None] | None


@dataclass(frozen=True)
class TaskProbabilities:
    """Probabilities for a batch, one (n, 3) array per task, columns in label order.

    ``windows[i]`` is 1, or the number of overlapping windows item i was read in.
    """

    stance: FloatArray
    sentiment: FloatArray
    windows: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def for_task(self, task: str) -> FloatArray:
        """Return the probability array of ``task`` ("stance" or "sentiment")."""
        if task == "stance":
            return self.stance
        if task == "sentiment":
            return self.sentiment
        raise ValueError(f"unknown task {task!r}: expected one of {sorted(TASKS)}")


@dataclass(frozen=True)
class Prediction:
    """One sentence's answer: labels, their probability distributions, windows read."""

    stance: str
    stance_scores: dict[str, float]
    sentiment: str
    sentiment_scores: dict[str, float]
    windows: int = 1

    def as_dict(self) -> dict[str, object]:
        """Return the contract fields as a JSON-ready dict."""
        return asdict(self)


@dataclass
class Temperatures:
    """Per-task temperatures for calibration (Guo et al. 2017, "On Calibration of Modern NNs")."""

    stance: float = 1.0
    sentiment: float = 1.0
    fitted: bool = False


def softmax(logits: FloatArray, temperature: float = 1.0) -> FloatArray:
    """Numerically stable softmax over the last axis of ``logits / temperature``."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: FloatArray = e / e.sum(axis=-1, keepdims=True)
    return out


def check_inputs(texts: Sequence[str], targets: Sequence[str], contexts: Contexts = None) -> None:
    """Raise ValueError unless texts, targets (and contexts) are equally long string sequences."""
    if isinstance(texts, str) or isinstance(targets, str) or isinstance(contexts, str):
        raise ValueError("texts, targets and contexts must be lists of strings, not one string")
    if len(texts) != len(targets) or (contexts is not None and len(contexts) != len(texts)):
        n_ctx = "" if contexts is None else f" and {len(contexts)} contexts"
        raise ValueError(
            "texts, targets and contexts must have the same length: got "
            f"{len(texts)} texts, {len(targets)} targets{n_ctx}"
        )
    for i, (text, target) in enumerate(zip(texts, targets, strict=True)):
        if not isinstance(text, str) or not isinstance(target, str):
            raise ValueError(
                f"item {i}: text and target must be strings, got "
                f"{type(text).__name__} and {type(target).__name__}"
            )
    for i, context in enumerate(contexts or []):
        if context is not None and not isinstance(context, str):
            raise ValueError(f"item {i}: context must be a string or null, got {context!r}")


def to_predictions(probs: TaskProbabilities) -> list[Prediction]:
    """Turn per-task probability arrays into per-sentence Prediction objects."""
    windows = probs.windows if len(probs.windows) else np.ones(len(probs.stance), dtype=np.int64)
    out = []
    for s_row, m_row, n in zip(probs.stance, probs.sentiment, windows, strict=True):
        out.append(
            Prediction(
                stance=STANCE_LABELS[int(np.argmax(s_row))],
                stance_scores={k: float(v) for k, v in zip(STANCE_LABELS, s_row, strict=True)},
                sentiment=SENTIMENT_LABELS[int(np.argmax(m_row))],
                sentiment_scores={
                    k: float(v) for k, v in zip(SENTIMENT_LABELS, m_row, strict=True)
                },
                windows=int(n),
            )
        )
    return out


class Classifier(Protocol):
    """What both backends provide."""

    backend: str
    config: ArtifactConfig
    temperatures: Temperatures

    def logits(
        self, texts: Sequence[str], targets: Sequence[str], contexts: Contexts = None
    ) -> dict[str, FloatArray]:
        """Return uncalibrated logits of items that fit the model, {"stance": (n, 3), ...}."""
        ...

    def windows(self, text: str, target: str) -> list[str]:
        """The text itself when it fits the model, else overlapping windows of it."""
        ...

    def predict_proba(
        self, texts: Sequence[str], targets: Sequence[str], contexts: Contexts = None
    ) -> TaskProbabilities:
        """Return calibrated probabilities for both tasks."""
        ...

    def predict(
        self, texts: Sequence[str], targets: Sequence[str], contexts: Contexts = None
    ) -> list[Prediction]:
        """Return one Prediction per input item."""
        ...

    def save(self, directory: Path) -> None:
        """Write the artifact directory."""
        ...


class CalibratedMixin:
    """predict_proba/predict on top of a backend's ``logits``, ``windows`` and ``temperatures``."""

    temperatures: Temperatures

    def logits(
        self, texts: Sequence[str], targets: Sequence[str], contexts: Contexts = None
    ) -> dict[str, FloatArray]:
        """Return uncalibrated logits; each backend implements this."""
        raise NotImplementedError

    def windows(self, text: str, target: str) -> list[str]:
        """A backend with no length limit reads every text whole."""
        return [text]

    def predict_proba(
        self, texts: Sequence[str], targets: Sequence[str], contexts: Contexts = None
    ) -> TaskProbabilities:
        """Temperature-scaled probabilities; long texts are read in windows and averaged."""
        check_inputs(texts, targets, contexts)
        n = len(texts)
        if n == 0:
            empty = np.zeros((0, 3), dtype=np.float64)
            return TaskProbabilities(empty, empty.copy(), np.zeros(0, dtype=np.int64))
        contexts = list(contexts) if contexts is not None else [None] * n
        pieces, owner = [], []
        for i, (text, target) in enumerate(zip(texts, targets, strict=True)):
            for piece in self.windows(text, target):
                pieces.append(piece)
                owner.append(i)
        idx = np.asarray(owner)
        raw = self.logits(pieces, [targets[i] for i in owner], [contexts[i] for i in owner])
        counts = np.bincount(idx, minlength=n).astype(np.int64)

        def calibrated(task: str) -> FloatArray:
            p = softmax(raw[task], getattr(self.temperatures, task))
            if len(pieces) == n:
                return p
            out = np.zeros((n, p.shape[1]))
            np.add.at(out, idx, p)
            return out / counts[:, None]

        return TaskProbabilities(calibrated("stance"), calibrated("sentiment"), counts)

    def predict(
        self, texts: Sequence[str], targets: Sequence[str], contexts: Contexts = None
    ) -> list[Prediction]:
        """Return one Prediction per (text, target, context) item."""
        return to_predictions(self.predict_proba(texts, targets, contexts))
