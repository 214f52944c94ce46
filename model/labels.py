"""Label sets of the two tasks, in the fixed order every probability array uses."""

from __future__ import annotations

STANCE_LABELS: tuple[str, ...] = ("favor", "against", "none")
SENTIMENT_LABELS: tuple[str, ...] = ("positive", "negative", "neutral")
TASKS: dict[str, tuple[str, ...]] = {"stance": STANCE_LABELS, "sentiment": SENTIMENT_LABELS}

DEFAULT_TARGET = "US sanctions"
# The name of the model in the BentoML store; every command and the service look it up by it.
MODEL_NAME = "stance-classifier"
