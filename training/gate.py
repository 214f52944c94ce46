"""CI gate over a run's ``metrics.json``.

The transformer must beat the baseline on stance macro-F1 on the project's
test split, and no metric recorded in ``configs/recorded_metrics.json`` for the same config may
fall more than a margin below its recorded figure.

Example:
    stance gate --metrics reports/latest/metrics.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def lookup(metrics: dict[str, Any], key: str) -> float:
    """Read ``set/backend/task/metric`` from a metrics.json ``results`` tree."""
    eval_set, backend, task, metric = key.split("/")
    return float(metrics["results"][eval_set][backend][task]["metrics"][metric])


def check(
    metrics_path: Path, recorded_path: Path, margin: float, beat_baseline: bool = True
) -> list[str]:
    """Return the gate's failures (empty when it passes)."""
    if not metrics_path.is_file():
        raise FileNotFoundError(f"metrics file {metrics_path} not found; run `stance train` first")
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    failures = []
    t = lookup(metrics, "test/transformer/stance/macro_f1")
    b = lookup(metrics, "test/baseline/stance/macro_f1")
    if beat_baseline and t <= b:
        failures.append(f"transformer stance macro-F1 {t:.3f} does not beat the baseline's {b:.3f}")
    recorded = (
        json.loads(recorded_path.read_text(encoding="utf-8")) if recorded_path.is_file() else {}
    )
    for key, value in recorded.get(metrics.get("config_name", ""), {}).items():
        if key.split("/")[0] not in metrics["results"]:
            continue  # an evaluation set absent on this machine (e.g. ../shared missing)
        now = lookup(metrics, key)
        if now < value - margin:
            failures.append(f"{key} = {now:.3f}, more than {margin} below the recorded {value:.3f}")
    return failures
