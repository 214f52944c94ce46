"""The two jobs behind the CLI: train and evaluate.

Train fits both backends, calibrates, evaluates, writes the report and stores the model;
evaluate scores stored models on any corpus file.

Example:
    stance train --config configs/us_sanctions.yaml
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from model.artifact import ArtifactConfig
from model.labels import TASKS
from model.onnx_runtime import RECHECK_KEY
from model.predictor import Classifier, Temperatures, softmax
from training.analysis import breakdown, confident_errors, target_ablation
from training.baseline import fit_baseline
from training.calibration import expected_calibration_error, fit_temperature
from training.config import RunConfig, resolve_base_model
from training.data import Example, file_hash, read_examples
from training.evaluation import TaskResult, evaluate, paired_comparison
from training.finetune import fine_tune
from training.report import Results, publish_latest, write_report
from training.store import save_to_store

logger = logging.getLogger(__name__)


def run_id(prefix: str) -> str:
    """Return a sortable, unique-enough run id."""
    return f"{prefix}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


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
    raw = clf.logits([e.text for e in validation], [e.target for e in validation])
    temps = {"stance": 1.0, "sentiment": 1.0}
    for task in tasks:
        labels = TASKS[task]
        y = np.array([labels.index(getattr(e, task)) for e in validation])
        temps[task] = fit_temperature(raw[task], y)
    clf.temperatures = Temperatures(
        stance=temps["stance"], sentiment=temps["sentiment"], fitted=True
    )
    return clf.temperatures


def load_eval_sets(config: RunConfig) -> dict[str, list[Example]]:
    """The test split plus every extra evaluation set that exists on this machine."""
    sets = {"test": read_examples(config.data.test)}
    for name, path in config.data.extra_eval.items():
        if Path(path).is_file():
            sets[name] = read_examples(path)
        else:
            logger.warning("extra evaluation set %r not found at %s; skipped", name, path)
    return sets


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
) -> tuple[Results, dict[str, Any]]:
    """Evaluate every model on every set; compare transformer with baseline where both exist."""
    results: Results = {}
    comparisons: dict[str, Any] = {}
    for name, examples in tqdm(sets.items(), desc="evaluate", leave=False):
        results[name] = {b: evaluate(m, examples, seed) for b, m in models.items()}
        if {"transformer", "baseline"} <= set(models):
            t, b = results[name]["transformer"], results[name]["baseline"]
            comparisons[name] = {
                task: paired_comparison(t[task], b[task], examples, seed) for task in TASKS
            }
    return results, comparisons


def choose_runtime(
    directory: Path, validation: list[Example], test: list[Example], config: RunConfig
) -> dict[str, Any]:
    """Export ONNX, check parity with torch fp32 on the test split, record the runtime to serve.

    For int8 the recheck margin (close calls recomputed in fp32) is chosen on validation first.
    A runtime that fails the parity gate falls back to ONNX fp32, then torch; the report says so.
    """
    wanted = config.serving.runtime
    if wanted == "torch":
        return {"runtime": "torch"}
    from training.export import choose_recheck_margin, export_onnx, parity

    export_onnx(directory)
    artifact = ArtifactConfig.read(directory)
    out: dict[str, Any] = {"candidate": wanted}
    if wanted == "onnx-int8":
        # A quarter of the allowed disagreement on validation: a margin that only just reaches the
        # target on ~500 validation items often misses it, or the F1 limit, on the test split.
        target = 1 - (1 - config.serving.min_agreement) / 4
        margin, tried = choose_recheck_margin(
            directory, [e.text for e in validation], [e.target for e in validation], target
        )
        artifact.extra[RECHECK_KEY] = margin
        artifact.write(directory)
        out |= {"recheck_margin": margin, "recheck_margins_tried": tried}
    gold = {t: [labels.index(getattr(e, t)) for e in test] for t, labels in TASKS.items()}
    texts, targets = [e.text for e in test], [e.target for e in test]
    runtime = "torch"
    for candidate in dict.fromkeys([wanted, "onnx-fp32"]):
        checks = parity(directory, texts, targets, gold, candidate)
        passed = all(
            c["agreement"] >= config.serving.min_agreement
            and c["f1_drop_points"] <= config.serving.max_f1_drop_points
            for c in checks.values()
        )
        out.setdefault("parity", checks)
        out.setdefault("parity_passed", passed)
        if passed:
            runtime = candidate
            break
        logger.warning("%s failed the parity gate %s", candidate, checks)
    artifact.extra["runtime"] = runtime
    artifact.write(directory)
    return out | {"runtime": runtime}


def headline(results: Results) -> dict[str, Any]:
    """Small metrics dict for the model store metadata."""
    return {
        f"{s}/{b}/{t}_macro_f1": round(r.metrics["macro_f1"], 4)
        for s, by_b in results.items()
        for b, by_t in by_b.items()
        for t, r in by_t.items()
    }


def run_training(config: RunConfig, save: bool = True) -> dict[str, Any]:
    """Train both backends, calibrate, evaluate, write the report; return the run summary."""
    rid = run_id(config.name)
    run_dir = config.output.runs_dir / rid
    train = read_examples(config.data.train)
    validation = read_examples(config.data.validation)
    check_labels_present(train, "train", list(config.tasks))
    sets = load_eval_sets(config)
    data_hash = file_hash(config.data.train, config.data.validation, config.data.test)
    logger.info("data: %d train, %d validation; hash %s", len(train), len(validation), data_hash)

    started = time.perf_counter()
    baseline, chosen_c = fit_baseline(
        train, validation, config.baseline, config.seed, data_hash, list(config.tasks)
    )
    baseline_seconds = time.perf_counter() - started
    base_model = resolve_base_model(config.transformer.base_model)
    started = time.perf_counter()
    transformer, train_log = fine_tune(
        train,
        validation,
        config.transformer,
        base_model,
        config.seed,
        data_hash,
        run_dir / "trainer",
        list(config.tasks),
    )
    train_seconds = time.perf_counter() - started
    models: dict[str, Classifier] = {"transformer": transformer, "baseline": baseline}
    tasks: list[str] = list(config.tasks)
    temperatures = {b: calibrate(m, validation, tasks).as_dict() for b, m in models.items()}

    artifact_root = run_dir / "artifact"
    for backend, clf in models.items():
        clf.config.extra["run_config"] = config.model_dump(mode="json")  # type: ignore[attr-defined]
        clf.save(artifact_root / backend)
    onnx = choose_runtime(artifact_root / "transformer", validation, sets["test"], config)

    results, comparisons = score_all(models, sets, config.seed)
    summary: dict[str, Any] = {
        "run_id": rid,
        "config_name": config.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_hash": data_hash,
        "config": config.model_dump(mode="json"),
        "train_seconds": round(train_seconds, 1),
        "baseline_seconds": round(baseline_seconds, 1),
        "baseline_C": chosen_c,
        "temperatures": temperatures,
        "training_log": train_log,
        "comparisons": comparisons,
        "onnx": onnx,
        "analysis": analyse(models, sets, results),
        "calibration": calibration_effect(models, results),
        "sizes": {"train": len(train), "validation": len(validation)}
        | {k: len(v) for k, v in sets.items()},
    }
    if save:
        summary["model_tag"] = save_to_store(
            config.output.model_name,
            artifact_root,
            {
                "metrics": headline(results),
                "config": config.model_dump(mode="json"),
                "config_digest": config.digest(),
                "data_hash": data_hash,
                "run_id": rid,
                "temperatures": temperatures,
            },
        )
    report_dir = write_report(config.output.reports_dir / rid, summary, results)
    publish_latest(report_dir)
    summary["report_dir"] = str(report_dir)
    summary["headline"] = headline(results)
    return summary


def run_evaluation(
    models: dict[str, Classifier],
    examples: list[Example],
    name: str,
    reports_dir: Path,
    model_tag: str,
    seed: int = 0,
) -> tuple[dict[str, Any], Results]:
    """Evaluate loaded models on one corpus file and write a report."""
    results, comparisons = score_all(models, {name: examples}, seed)
    rid = run_id("evaluate")
    summary = {
        "run_id": rid,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_tag": model_tag,
        "comparisons": comparisons,
        "analysis": analyse(models, {name: examples}, results),
    }
    out = write_report(reports_dir / rid, summary, results)
    summary["report_dir"] = str(out)
    summary["headline"] = headline(results)
    return summary, results


def task_metrics(results: Results) -> dict[str, Any]:
    """Flatten results to {set: {backend: {task: metrics + ci}}} for printing."""

    def one(r: TaskResult) -> dict[str, Any]:
        return r.metrics | {"ci95": r.ci95, "ece": r.ece}

    return {
        s: {b: {t: one(r) for t, r in bt.items()} for b, bt in bb.items()}
        for s, bb in results.items()
    }
