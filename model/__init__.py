"""Inference side of the stance and sentiment classifier: labels, backends and artifacts.

Example:
    >>> from model import load_classifier
    >>> clf = load_classifier("path/to/artifact/transformer")
    >>> clf.predict(["Sanctions are illegal."], ["US sanctions"])
"""

from model.artifact import FORMAT_VERSION, load_classifier
from model.labels import SENTIMENT_LABELS, STANCE_LABELS, TASKS
from model.predictor import Classifier, Prediction, TaskProbabilities

__all__ = [
    "FORMAT_VERSION",
    "SENTIMENT_LABELS",
    "STANCE_LABELS",
    "TASKS",
    "Classifier",
    "Prediction",
    "TaskProbabilities",
    "load_classifier",
]
