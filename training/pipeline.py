"""The two jobs behind the CLI: train and evaluate.

Train: config -> data -> fit both backends -> calibrate -> write the artifacts -> choose the
served runtime (ONNX export, parity gate) -> load the artifacts as they will be served -> evaluate
them on every set -> write ``metrics.json`` and the model card into each artifact -> store ->
report. What is evaluated is what is served. Evaluate: score stored models on any corpus file.

Example:
    stance train --config configs/us_sanctions.yaml
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from model import load_classifier
from model.artifact import METRICS_FILE
from model.metrics import Comparison, RunMetrics, Serving
from model.predictor import Classifier
from training.baseline import fit_baseline
from training.behaviour import run_behaviour
from training.card import write_card
from training.config import RunConfig, resolve_base_model
from training.data import Example, file_hash, read_examples
from training.export import choose_runtime
from training.finetune import fine_tune
from training.launch import LaunchWorkerDone, is_main_process, rank, shared, world_size
from training.report import publish_latest, write_report
from training.scoring import (
    Results,
    analyse,
    calibrate,
    calibration_effect,
    check_labels_present,
    score_all,
)
from training.store import save_to_store

logger = logging.getLogger(__name__)
BACKENDS = ("transformer", "baseline")


@dataclass
class TrainingRun:
    """What ``run_training`` made: the run, its report, its artifacts and what they measured."""

    run_id: str
    report_dir: Path
    artifact_root: Path
    model_tag: str | None
    metrics: RunMetrics


def run_id(prefix: str) -> str:
    """Return a sortable, unique-enough run id."""
    return f"{prefix}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def load_training_data(config: RunConfig) -> tuple[list[Example], list[float]]:
    """Every training source's items and each item's loss weight."""
    examples: list[Example] = []
    weights: list[float] = []
    for src in config.data.train:
        if src.weight == 0:
            continue
        items = read_examples(src.path)
        if src.drop_unreferenced:
            kept = [e for e in items if e.refers is not False]
            logger.info(
                "%s: left out %d items that never name the sanctions",
                src.path,
                len(items) - len(kept),
            )
            items = kept
        examples += items
        weights += [src.weight] * len(items)
    if not examples:
        raise ValueError("the config's training sources hold no items (are all weights 0?)")
    return examples, weights


def load_eval_sets(config: RunConfig) -> dict[str, list[Example]]:
    """The test split plus every extra evaluation set that exists on this machine."""
    sets = {"test": read_examples(config.data.test)}
    for name, path in config.data.extra_eval.items():
        if Path(path).is_file():
            sets[name] = read_examples(path)
        else:
            logger.warning("extra evaluation set %r not found at %s; skipped", name, path)
    return sets


def to_scores(results: Results, comparisons: dict[str, dict[str, Comparison]]) -> dict[str, Any]:
    """The typed ``results`` and ``comparisons`` fields of RunMetrics."""
    return {
        "results": {
            s: {b: {t: r.scores() for t, r in bt.items()} for b, bt in bb.items()}
            for s, bb in results.items()
        },
        "comparisons": comparisons,
    }


@dataclass
class Fitted:
    """Both backends, calibrated, with what fitting them took."""

    models: dict[str, Classifier]
    seconds: dict[str, float]
    baseline_c: dict[str, float]
    training_log: dict[str, Any]
    n_train: int


def fit_models(config: RunConfig, run_dir: Path) -> Fitted:
    """Fit the baseline and fine-tune the transformer, calibrate both on validation."""
    train, weights = load_training_data(config)
    validation = read_examples(config.data.validation)
    check_labels_present(train, "train", list(config.tasks))
    logger.info("data: %d train, %d validation", len(train), len(validation))
    main = is_main_process()
    seconds = {"baseline": 0.0}
    started = time.perf_counter()
    if main:  # the other processes of a multi-process launch only help fine-tune
        baseline, chosen_c = fit_baseline(
            train, validation, config.baseline, config.seed, list(config.tasks), weights
        )
        seconds["baseline"] = time.perf_counter() - started
    started = time.perf_counter()
    transformer, train_log = fine_tune(
        train,
        validation,
        config.transformer,
        resolve_base_model(config.transformer.base_model),
        config.seed,
        run_dir / "trainer",
        list(config.tasks),
        weights,
    )
    seconds["transformer"] = time.perf_counter() - started
    if not main:
        raise LaunchWorkerDone(
            f"process {rank()} of {world_size()}: fine-tuning done; process 0 writes the model"
        )
    models: dict[str, Classifier] = {"transformer": transformer, "baseline": baseline}
    for clf in models.values():
        calibrate(clf, validation, list(config.tasks))
    return Fitted(models, seconds, chosen_c, train_log, len(train))


def run_training(config: RunConfig, save: bool = True) -> TrainingRun:
    """Train both backends, evaluate them as served, write report and artifacts, store them.

    Under a multi-process launch (``training.launch``) every process fine-tunes, and all but
    process 0 raise ``LaunchWorkerDone`` once that is done.
    """
    rid = shared(run_id(config.name))  # one run folder for every process of a launch
    run_dir = config.output.runs_dir / rid
    sets = load_eval_sets(config)
    validation = read_examples(config.data.validation)
    data_hash = file_hash(
        *[s.path for s in config.data.train], config.data.validation, config.data.test
    )
    fitted = fit_models(config, run_dir)
    root = run_dir / "artifact"
    for backend, clf in fitted.models.items():
        clf.config.data_hash = data_hash
        clf.config.default_target = config.default_target
        clf.config.run_config = config.model_dump(mode="json")
        clf.save(root / backend)
    serving = choose_runtime(root / "transformer", validation, sets["test"], config.serving)
    served = {b: load_classifier(root / b) for b in BACKENDS}
    results, comparisons = score_all(served, sets, config.seed)
    metrics = RunMetrics(
        run_id=rid,
        config_name=config.name,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        data_hash=data_hash,
        config=config.model_dump(mode="json"),
        sizes={"train": fitted.n_train, "validation": len(validation)}
        | {k: len(v) for k, v in sets.items()},
        train_seconds=round(fitted.seconds["transformer"], 1),
        baseline_seconds=round(fitted.seconds["baseline"], 1),
        baseline_c=fitted.baseline_c,
        temperatures={b: asdict(m.temperatures) for b, m in served.items()},
        training_log=fitted.training_log,
        serving=Serving(**serving),
        analysis=analyse(served, sets, results),
        calibration=calibration_effect(served, results),
        behaviour=run_behaviour(served["transformer"], config.behaviour),
        **to_scores(results, comparisons),
    )
    tag = None
    if save:
        tag = save_to_store(
            config.output.model_name,
            root,
            {"metrics": metrics.headline(), "config_digest": config.digest(), "run_id": rid},
            finish=lambda folder, t: finish_artifacts(folder, metrics, t),
        )
    finish_artifacts(root, metrics, tag)
    report_dir = write_report(config.output.reports_dir / rid, metrics)
    publish_latest(report_dir)
    return TrainingRun(rid, report_dir, root, tag, metrics)


def finish_artifacts(root: Path, metrics: RunMetrics, tag: str | None) -> None:
    """Write ``metrics.json`` and ``MODEL_CARD.md`` into each backend's artifact folder."""
    metrics.model_tag = tag
    for backend in BACKENDS:
        if (root / backend).is_dir():
            metrics.write(root / backend / METRICS_FILE)
            write_card(root / backend, metrics, backend)


def run_evaluation(
    models: dict[str, Classifier],
    examples: list[Example],
    name: str,
    reports_dir: Path,
    model_tag: str,
    seed: int = 0,
) -> tuple[RunMetrics, Path]:
    """Evaluate loaded models on one corpus file; write a report; return its metrics and folder."""
    results, comparisons = score_all(models, {name: examples}, seed)
    rid = run_id("evaluate")
    metrics = RunMetrics(
        run_id=rid,
        config_name="evaluate",
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        model_tag=model_tag,
        sizes={name: len(examples)},
        analysis=analyse(models, {name: examples}, results),
        **to_scores(results, comparisons),
    )
    return metrics, write_report(reports_dir / rid, metrics)
