"""Temperature scaling (Guo et al., 2017) fitted on validation logits, and calibration error."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from model.predictor import FloatArray, softmax


def nll(logits: FloatArray, labels: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of ``labels`` under softmax(logits / T)."""
    p = softmax(logits, temperature)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, 1.0))))


def fit_temperature(logits: FloatArray, labels: np.ndarray) -> float:
    """Return the T in [0.05, 20] that minimises validation NLL."""
    res = minimize_scalar(
        lambda log_t: nll(logits, labels, float(np.exp(log_t))),
        bounds=(np.log(0.05), np.log(20.0)),
        method="bounded",
    )
    return float(np.exp(res.x))


def expected_calibration_error(
    probs: FloatArray, labels: np.ndarray, n_bins: int = 10
) -> tuple[float, list[dict[str, float]]]:
    """Return ECE (top-label, equal-width bins) and the per-bin table for reliability diagrams."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece, bins = 0.0, []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (conf > lo) & (conf <= hi)
        if not in_bin.any():
            continue
        acc, avg_conf, share = correct[in_bin].mean(), conf[in_bin].mean(), in_bin.mean()
        ece += share * abs(acc - avg_conf)
        bins.append(
            {
                "lo": float(lo),
                "hi": float(hi),
                "accuracy": float(acc),
                "confidence": float(avg_conf),
                "count": int(in_bin.sum()),
            }
        )
    return float(ece), bins
