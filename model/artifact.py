"""Reading and writing artifact directories.

An artifact is a directory holding ``config.json`` (format version, backend, labels, base model,
max_length, seed, data hash, calibration temperatures), the weights, and for the transformer its
tokenizer. ``load_classifier(dir)`` reads any artifact and returns the right backend.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model.labels import SENTIMENT_LABELS, STANCE_LABELS
from model.predictor import Classifier, Temperatures

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
BACKENDS = ("transformer", "baseline")


@dataclass
class ArtifactConfig:
    """What ``config.json`` of an artifact holds."""

    backend: str
    base_model: str = ""
    max_length: int = 128
    seed: int = 0
    data_hash: str = ""
    labels: dict[str, list[str]] = field(
        default_factory=lambda: {
            "stance": list(STANCE_LABELS),
            "sentiment": list(SENTIMENT_LABELS),
        }
    )
    temperatures: dict[str, Any] = field(default_factory=lambda: Temperatures().as_dict())
    extra: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def write(self, directory: Path) -> None:
        """Write ``config.json`` into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        text = json.dumps(asdict(self), indent=2, sort_keys=True)
        (directory / CONFIG_FILE).write_text(text + "\n", encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> ArtifactConfig:
        """Read and check ``config.json`` from ``directory``."""
        path = Path(directory) / CONFIG_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"no model artifact at {directory}: {CONFIG_FILE} is missing; "
                "train one with `stance train --config configs/us_sanctions.yaml`"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"corrupt artifact config {path}: {exc}") from exc
        found = data.get("format_version")
        if found != FORMAT_VERSION:
            raise ValueError(
                f"artifact {directory} has format_version {found!r}, this code reads "
                f"{FORMAT_VERSION}; retrain with `stance train`"
            )
        if data.get("backend") not in BACKENDS:
            raise ValueError(
                f"artifact {directory} names backend {data.get('backend')!r}, "
                f"expected one of {list(BACKENDS)}"
            )
        labels = data.get("labels", {})
        if labels.get("stance") != list(STANCE_LABELS) or labels.get("sentiment") != list(
            SENTIMENT_LABELS
        ):
            raise ValueError(
                f"artifact {directory} has labels {labels}, expected stance "
                f"{list(STANCE_LABELS)} and sentiment {list(SENTIMENT_LABELS)}"
            )
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def temperature_object(self) -> Temperatures:
        """Return the stored calibration temperatures."""
        t = self.temperatures
        return Temperatures(
            stance=float(t.get("stance", 1.0)),
            sentiment=float(t.get("sentiment", 1.0)),
            fitted=bool(t.get("fitted", False)),
        )


RUNTIME_CHOICES = ("torch", "onnx-fp32", "onnx-int8")
# The files each backend's load() reads, beside config.json (folders for the tokenizer/encoder).
REQUIRED_FILES = {
    "transformer": ("model.safetensors", "tokenizer", "encoder"),
    "baseline": ("baseline.skops",),
}
ONNX_FILES = {"onnx-fp32": ("model.onnx",), "onnx-int8": ("model.int8.onnx", "model.onnx")}


def check_artifact(directory: str | Path, runtime: str | None = None) -> None:
    """Cheaply check that an artifact can be loaded, without loading it.

    Reads config.json (format version, backend, labels), checks the files the backend reads are
    there and not empty, and parses the safetensors header of the transformer's weights. Raises
    FileNotFoundError or ValueError that name the file. A server calls this before it starts
    workers, so a damaged model stops it with one message instead of a restart loop.
    """
    directory = Path(directory)
    config = ArtifactConfig.read(directory)
    runtime = runtime or os.environ.get("STANCE_RUNTIME") or config.extra.get("runtime", "torch")
    if runtime not in RUNTIME_CHOICES:
        raise ValueError(f"unknown runtime {runtime!r}: expected one of {list(RUNTIME_CHOICES)}")
    names = REQUIRED_FILES[config.backend]
    if config.backend == "transformer":
        names += ONNX_FILES.get(str(runtime), ())
    for name in names:
        path = directory / name
        if not path.exists() or (path.is_file() and path.stat().st_size == 0):
            raise FileNotFoundError(f"artifact {directory} has no usable {name}; retrain it")
    if config.backend == "transformer":
        from safetensors import safe_open

        weights = directory / names[0]
        try:
            with safe_open(str(weights), framework="numpy") as f:
                f.keys()
        except Exception as exc:  # safetensors raises several types for a damaged header
            raise ValueError(f"corrupt transformer weights {weights}: {exc}") from None


def load_classifier(directory: str | Path, runtime: str | None = None) -> Classifier:
    """Load the artifact at ``directory`` as a Classifier of the backend it names.

    For the transformer, ``runtime`` (else ``$STANCE_RUNTIME``, else the artifact's own choice,
    else torch) picks torch or ONNX Runtime.
    """
    directory = Path(directory)
    config = ArtifactConfig.read(directory)
    if config.backend == "transformer":
        runtime = (
            runtime or os.environ.get("STANCE_RUNTIME") or config.extra.get("runtime", "torch")
        )
        if runtime not in RUNTIME_CHOICES:
            raise ValueError(
                f"unknown runtime {runtime!r}: expected one of {list(RUNTIME_CHOICES)}"
            )
        if runtime != "torch":
            from model.onnx_runtime import OnnxClassifier

            return OnnxClassifier(directory, runtime)
        from model.transformer import TransformerClassifier

        return TransformerClassifier.load(directory)
    from model.baseline import BaselineClassifier

    return BaselineClassifier.load(directory)
