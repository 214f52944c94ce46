"""Label sets of the two tasks, in the fixed order every probability array uses."""

from __future__ import annotations

STANCE_LABELS: tuple[str, ...] = ("favor", "against", "none")
SENTIMENT_LABELS: tuple[str, ...] = ("positive", "negative", "neutral")
TASKS: dict[str, tuple[str, ...]] = {"stance": STANCE_LABELS, "sentiment": SENTIMENT_LABELS}

DEFAULT_TARGET = "US sanctions"


def check_label(task: str, label: object) -> str:
    """Return ``label`` if it belongs to ``task``'s label set, else raise a clear ValueError."""
    labels = TASKS.get(task)
    if labels is None:
        raise ValueError(f"unknown task {task!r}: expected one of {sorted(TASKS)}")
    if not isinstance(label, str) or label not in labels:
        raise ValueError(f"invalid {task} label {label!r}: expected one of {list(labels)}")
    return label
