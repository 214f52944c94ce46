"""Fit the TF-IDF baseline: one pipeline per task, C chosen on the validation split only."""

from __future__ import annotations

import logging

from sklearn.metrics import f1_score
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from model.artifact import ArtifactConfig
from model.baseline import BaselineClassifier, as_rows, make_pipeline
from training.config import BaselineConfig
from training.data import Example

logger = logging.getLogger(__name__)


def fit_baseline(
    train: list[Example],
    validation: list[Example],
    config: BaselineConfig,
    seed: int,
    tasks: list[str] | None = None,
    weights: list[float] | None = None,
) -> tuple[BaselineClassifier, dict[str, float]]:
    """Return the fitted baseline and the C chosen per task (by validation macro-F1).

    ``weights`` weighs each training item (source weighting), as for the transformer.
    """
    ctx = config.use_context
    x_train = as_rows(
        [e.text for e in train], [e.target for e in train], [e.context for e in train]
    )
    x_val = as_rows(
        [e.text for e in validation],
        [e.target for e in validation],
        [e.context for e in validation],
    )
    chosen: dict[str, float] = {}
    fitted: dict[str, Pipeline | None] = {"stance": None, "sentiment": None}
    for task in tasks or ["stance", "sentiment"]:
        y_train = [getattr(e, task) for e in train]
        y_val = [getattr(e, task) for e in validation]
        use_target = config.use_target and task == "stance"
        best = (-1.0, 0.0, None)
        for c in tqdm(config.c_grid, desc=f"baseline {task}: C search", leave=False):
            pipe = make_pipeline(c, seed, use_target=use_target, use_context=ctx)
            pipe.fit(x_train, y_train, clf__sample_weight=weights)
            score = float(f1_score(y_val, pipe.predict(x_val), average="macro"))
            logger.info("baseline %s C=%g validation macro-F1 %.4f", task, c, score)
            if score > best[0]:
                best = (score, c, pipe)
        chosen[task] = best[1]
        fitted[task] = best[2]
        logger.info("baseline %s: chose C=%g (validation macro-F1 %.4f)", task, best[1], best[0])
    artifact = ArtifactConfig(
        backend="baseline",
        base_model="tfidf-logreg",
        seed=seed,
        use_context=ctx,
        use_target=config.use_target,
        baseline_c=chosen,
    )
    return BaselineClassifier(fitted["stance"], fitted["sentiment"], artifact), chosen
