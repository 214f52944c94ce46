"""CI gate over a run's ``metrics.json``.

Three rules, each failure one line:
1. the transformer is ahead of the baseline on stance macro-F1 on the test split (the real test
   split for the default config); with ``require_significant`` the paired permutation test must
   also say so at p < ``alpha``; without it, a lead that is not significant is a note;
2. every gated behavioural test reaches its minimum pass rate (``configs/behaviour.yaml``);
3. no metric recorded in ``configs/recorded_metrics.json`` for the run's config falls more than
   ``margin`` below its recorded figure.

Notes (printed, never failing) say what the run misses beyond the rules: a lead that is not
significant, behavioural tests below their target pass rate.

Example:
    stance gate --metrics reports/latest/metrics.json
"""

from __future__ import annotations

import json
from pathlib import Path

from model.metrics import RunMetrics
from training.behaviour import behaviour_failures, below_target
from training.evaluation import format_p

ALPHA = 0.05


def baseline_failures(
    metrics: RunMetrics,
    eval_set: str = "test",
    alpha: float = ALPHA,
    require_significant: bool = False,
) -> list[str]:
    """Rule 1: the transformer must be ahead of the baseline on stance (significantly, if asked)."""
    comparison = metrics.comparisons.get(eval_set, {}).get("stance")
    if comparison is None:
        return [f"no transformer-vs-baseline comparison on {eval_set!r} in the metrics"]
    t = metrics.value(f"{eval_set}/transformer/stance/macro_f1")
    b = metrics.value(f"{eval_set}/baseline/stance/macro_f1")
    p = format_p(comparison.p_value, comparison.p_resolution)
    head = f"{eval_set}: transformer stance macro-F1 {t:.3f} vs the baseline's {b:.3f}"
    if comparison.difference <= 0:
        return [f"{head}: the transformer is not ahead ({p})"]
    if require_significant and comparison.p_value >= alpha:
        return [f"{head}: {comparison.difference:+.3f} is not significant ({p}, need < {alpha})"]
    return []


def notes(metrics: RunMetrics, eval_set: str = "test", alpha: float = ALPHA) -> list[str]:
    """What the run misses beyond the gated rules, one line each (never a failure)."""
    out = []
    comparison = metrics.comparisons.get(eval_set, {}).get("stance")
    if comparison is not None and comparison.difference > 0 and comparison.p_value >= alpha:
        p = format_p(comparison.p_value, comparison.p_resolution)
        out.append(
            f"{eval_set}: the transformer's stance lead {comparison.difference:+.3f} over the "
            f"baseline is not significant ({p}); `stance gate --require-significant` fails on it"
        )
    for name, t in metrics.behaviour.get("tests", {}).items():
        if below_target(t):
            target = t["target_pass_rate"]
            gated = "" if t.get("gated", True) else ", not gated"
            out.append(
                f"behaviour test {name!r} passed {t['passed']} of {t['cases']} "
                f"({t['pass_rate']:.0%}), below its target {target:.0%}{gated}"
            )
    return out


def recorded_failures(metrics: RunMetrics, recorded_path: Path, margin: float) -> list[str]:
    """Rule 3: no recorded metric may fall more than ``margin`` below its recorded figure."""
    if not recorded_path.is_file():
        return []
    try:
        recorded = json.loads(recorded_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"recorded metrics {recorded_path} is not valid JSON: {exc}") from None
    failures = []
    for key, value in recorded.get(metrics.config_name, {}).items():
        if key.split("/")[0] not in metrics.results:
            continue  # an evaluation set absent on this machine (e.g. ../shared missing)
        now = metrics.value(key)
        if now < value - margin:
            failures.append(f"{key} = {now:.3f}, more than {margin} below the recorded {value:.3f}")
    return failures


def check(
    metrics_path: Path,
    recorded_path: Path,
    margin: float,
    beat_baseline: bool = True,
    require_significant: bool = False,
) -> list[str]:
    """Return the gate's failures (empty when it passes)."""
    metrics = RunMetrics.load(metrics_path)
    failures = (
        baseline_failures(metrics, require_significant=require_significant) if beat_baseline else []
    )
    failures += behaviour_failures(metrics.behaviour)
    return failures + recorded_failures(metrics, recorded_path, margin)
