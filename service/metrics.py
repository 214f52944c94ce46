"""The service's own Prometheus metrics, on ``/metrics`` beside BentoML's.

Defined once per process in this module (never in ``service.service``, which tests reload), so
each is registered once.
"""

from __future__ import annotations

import bentoml

BATCH_ITEMS = bentoml.metrics.Histogram(
    name="stance_batch_items",
    documentation="items in one forward pass of the micro-batcher (sentences and documents)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)
BATCH_WAIT = bentoml.metrics.Histogram(
    name="stance_batch_queue_seconds",
    documentation="seconds the oldest request of a batch waited in the micro-batcher's queue",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ITEMS = bentoml.metrics.Counter(
    name="stance_items_total", documentation="items (sentence, target) classified"
)
WINDOWED = bentoml.metrics.Counter(
    name="stance_windowed_items_total",
    documentation="items longer than the model reads, classified in several windows",
)
RECHECKED = bentoml.metrics.Counter(
    name="stance_int8_rechecked_items_total",
    documentation="model inputs (sentence windows) the int8 cascade ran again in fp32: close calls",
)


def observe_batch(items: int, waited: float) -> None:
    """Record one micro-batch's size and queue time."""
    BATCH_ITEMS.observe(items)
    BATCH_WAIT.observe(waited)
