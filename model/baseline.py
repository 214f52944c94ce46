"""The TF-IDF + logistic-regression baseline, one linear model per task.

Features: word 1-2-gram and character 2-5-gram TF-IDF of the sentence, plus word TF-IDF of the
target, so the stance model can shift with the target, and, when the model reads context, word
TF-IDF of the previous sentence as features of their own. Saved with skops (no pickle), loaded only
when every type in the file is one this module expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from model.artifact import ArtifactConfig
from model.labels import TASKS
from model.predictor import CalibratedMixin, Contexts, FloatArray, Temperatures

MODEL_FILE = "baseline.skops"
TEXT_COLUMN, TARGET_COLUMN, CONTEXT_COLUMN = 0, 1, 2

# Types a baseline file may contain beyond skops' defaults; anything else refuses to load.
TRUSTED_TYPES = [
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.pipeline.Pipeline",
    "numpy.float64",
    "numpy.int64",
    "builtins.dict",
    "builtins.list",
    "builtins.str",
]


def make_pipeline(
    c: float, seed: int, use_target: bool = True, use_context: bool = False
) -> Pipeline:
    """An unfitted TF-IDF + logistic-regression pipeline over [text, target, context] rows."""
    features = [
        (
            "word",
            TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True, lowercase=True),
            TEXT_COLUMN,
        ),
        (
            "char",
            TfidfVectorizer(
                analyzer="char_wb",
                ngram_range=(2, 5),
                min_df=2,
                sublinear_tf=True,
                max_features=80000,
            ),
            TEXT_COLUMN,
        ),
    ]
    if use_target:
        features.append(("target", TfidfVectorizer(ngram_range=(1, 2)), TARGET_COLUMN))
    if use_context:
        features.append(
            ("context", TfidfVectorizer(ngram_range=(1, 1), sublinear_tf=True), CONTEXT_COLUMN)
        )
    return Pipeline(
        [
            ("features", ColumnTransformer(features)),
            (
                "clf",
                LogisticRegression(C=c, max_iter=2000, class_weight="balanced", random_state=seed),
            ),
        ]
    )


def as_rows(texts: Sequence[str], targets: Sequence[str], contexts: Contexts = None) -> np.ndarray:
    """Stack texts, targets and contexts into the (n, 3) object array the pipelines read."""
    rows = np.empty((len(texts), 3), dtype=object)
    rows[:, TEXT_COLUMN] = list(texts)
    rows[:, TARGET_COLUMN] = list(targets)
    rows[:, CONTEXT_COLUMN] = [c or "" for c in contexts] if contexts is not None else ""
    return rows


class BaselineClassifier(CalibratedMixin):
    """Two fitted pipelines (stance, sentiment) behind the Classifier contract."""

    backend = "baseline"

    def __init__(
        self, stance: Pipeline | None, sentiment: Pipeline | None, config: ArtifactConfig
    ) -> None:
        # A task without a pipeline (data labelled for the other task only) answers uniformly.
        self.pipelines = {"stance": stance, "sentiment": sentiment}
        self.config = config
        self.temperatures: Temperatures = config.temperatures

    def logits(
        self, texts: Sequence[str], targets: Sequence[str], contexts: Contexts = None
    ) -> dict[str, FloatArray]:
        """Return log-probabilities as logits, so temperature scaling applies as for the model."""
        rows = as_rows(texts, targets, contexts if self.config.use_context else None)
        out: dict[str, FloatArray] = {}
        for task, pipe in self.pipelines.items():
            if pipe is None:
                out[task] = np.zeros((len(texts), len(TASKS[task])))
                continue
            # scikit-learn orders classes alphabetically; reorder columns to our label order.
            classes = [str(c) for c in pipe.classes_]
            missing = [lab for lab in TASKS[task] if lab not in classes]
            if missing:
                raise ValueError(f"baseline {task} model was trained without labels {missing}")
            cols = [classes.index(lab) for lab in TASKS[task]]
            proba = np.asarray(pipe.predict_proba(rows), dtype=np.float64)[:, cols]
            out[task] = np.log(np.clip(proba, 1e-12, 1.0))
        return out

    def save(self, directory: Path) -> None:
        """Write both pipelines (skops) and config.json."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.temperatures = self.temperatures
        self.config.write(directory)
        sio.dump(self.pipelines, directory / MODEL_FILE)

    @classmethod
    def load(cls, directory: Path) -> BaselineClassifier:
        """Read an artifact written by ``save``, refusing unexpected types."""
        directory = Path(directory)
        config = ArtifactConfig.read(directory)
        path = directory / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"baseline artifact {directory} has no {MODEL_FILE}; retrain with `stance train`"
            )
        found = sio.get_untrusted_types(file=path)
        untrusted = [t for t in found if t not in TRUSTED_TYPES]
        if untrusted:
            raise ValueError(f"baseline file {path} holds unexpected types {untrusted}; refusing")
        pipelines = sio.load(path, trusted=found)
        return cls(pipelines["stance"], pipelines["sentiment"], config)
