"""The schema of ``metrics.json``: what a training or evaluation run measured.

One pydantic model that the pipeline writes and the gate, the report, the CLI and the public
benchmarks read, so a metric is addressed by a typed path, never by guessing dict keys.

Example:
    >>> m = RunMetrics.load(Path("reports/latest/metrics.json"))
    >>> m.value("test/transformer/stance/macro_f1")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SCHEMA_VERSION = 1


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Confusion(_Model):
    """A confusion matrix: rows gold, columns predicted, in label order."""

    labels: list[str]
    matrix: list[list[int]]


class TaskScores(_Model):
    """One task of one backend on one evaluation set."""

    metrics: dict[str, float]  # accuracy, macro_f1, f_avg (stance), n
    ci95: dict[str, list[float]]  # document-bootstrap 95% intervals of each metric
    per_class: dict[str, dict[str, float]]
    confusion: Confusion
    ece: float
    reliability: list[dict[str, float]]


class Comparison(_Model):
    """Transformer minus baseline macro-F1 on one set: paired permutation test and interval."""

    difference: float
    ci95_low: float
    ci95_high: float
    p_value: float
    permutations: int
    p_resolution: float


class Serving(_Model):
    """Which runtime the artifact serves and the parity checks that chose it."""

    runtime: str
    candidate: str | None = None
    recheck_margin: float | None = None
    recheck_margins_tried: list[dict[str, float]] = Field(default_factory=list)
    parity: dict[str, dict[str, float]] = Field(default_factory=dict)
    parity_passed: bool | None = None
    # Every runtime checked: its parity with torch fp32, whether it passed, and (``auto``) its
    # sentences/s on validation items on the training machine.
    runtimes: dict[str, dict[str, Any]] = Field(default_factory=dict)


class RunMetrics(_Model):
    """Everything ``metrics.json`` holds."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    config_name: str = ""
    created: str
    model_tag: str | None = None
    data_hash: str = ""
    config: dict[str, Any] = Field(default_factory=dict)
    sizes: dict[str, int] = Field(default_factory=dict)
    train_seconds: float | None = None
    baseline_seconds: float | None = None
    baseline_c: dict[str, float] = Field(default_factory=dict)
    temperatures: dict[str, dict[str, float | bool]] = Field(default_factory=dict)
    training_log: dict[str, Any] = Field(default_factory=dict)
    serving: Serving | None = None
    # results[set][backend][task]; the transformer is scored as served (``serving.runtime``).
    results: dict[str, dict[str, dict[str, TaskScores]]]
    comparisons: dict[str, dict[str, Comparison]] = Field(default_factory=dict)
    analysis: dict[str, Any] = Field(default_factory=dict)
    calibration: dict[str, Any] = Field(default_factory=dict)
    behaviour: dict[str, Any] = Field(default_factory=dict)

    def value(self, key: str) -> float:
        """Read ``set/backend/task/metric``; a missing part is a ValueError naming what exists."""
        parts = key.split("/")
        if len(parts) != 4:
            raise ValueError(f"metric key {key!r} must look like set/backend/task/metric")
        eval_set, backend, task, metric = parts
        level: Any = self.results
        for part, what in zip(parts[:3], ("evaluation set", "backend", "task"), strict=True):
            if part not in level:
                raise ValueError(f"{key}: no {what} {part!r}; found {sorted(level)}")
            level = level[part]
        if metric not in level.metrics:
            raise ValueError(f"{key}: no metric {metric!r}; found {sorted(level.metrics)}")
        return float(level.metrics[metric])

    def headline(self) -> dict[str, float]:
        """``set/backend/task_macro_f1`` -> value, the short form the service and store show."""
        return {
            f"{s}/{b}/{t}_macro_f1": round(r.metrics["macro_f1"], 4)
            for s, by_b in self.results.items()
            for b, by_t in by_b.items()
            for t, r in by_t.items()
        }

    def write(self, path: Path) -> None:
        """Write the file (JSON, indented)."""
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> RunMetrics:
        """Read and validate a metrics file, with one clear error for each way it can be bad."""
        if not path.is_file():
            raise FileNotFoundError(f"metrics file {path} not found; run `stance train` first")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"metrics file {path} is not valid JSON: {exc}") from None
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(
                f"metrics file {path} does not match the schema ({where}: {first['msg']}); "
                "it was written by another version: rerun `stance train`"
            ) from None
