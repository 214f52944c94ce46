"""Reading and writing artifact directories.

An artifact is a directory holding ``config.json`` (one schema, ``ArtifactConfig``: format
version, backend, labels, base model, input layout, seed, data hash, calibration temperatures,
the runtime to serve and the run config that made it), the weights, for the transformer its
tokenizer and ONNX graphs, and, once evaluated, ``metrics.json`` and ``MODEL_CARD.md``.
``load_classifier(dir)`` reads any artifact and returns the right backend.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from model.labels import DEFAULT_TARGET, SENTIMENT_LABELS, STANCE_LABELS
from model.predictor import Classifier, Temperatures

FORMAT_VERSION = 2
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CARD_FILE = "MODEL_CARD.md"
BACKENDS = ("transformer", "baseline")
RUNTIME_CHOICES = ("torch", "torch-bf16", "onnx-fp32", "onnx-int8")
Runtime = Literal["torch", "torch-bf16", "onnx-fp32", "onnx-int8"]
TORCH_RUNTIMES = ("torch", "torch-bf16")
TRAIN_HINT = "train one with `stance train --config configs/us_sanctions.yaml`"

logger = logging.getLogger(__name__)


class ArtifactConfig(BaseModel):
    """What ``config.json`` of an artifact holds."""

    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    backend: Literal["transformer", "baseline"]
    labels: dict[str, list[str]] = Field(
        default_factory=lambda: {"stance": list(STANCE_LABELS), "sentiment": list(SENTIMENT_LABELS)}
    )
    base_model: str = ""
    max_length: int = 128
    use_context: bool = False
    target_template: str = "{target}"
    use_target: bool = True
    default_target: str = DEFAULT_TARGET
    seed: int = 0
    data_hash: str = ""
    temperatures: Temperatures = Field(default_factory=Temperatures)
    runtime: Runtime = "torch"
    # The runtimes that passed the parity gate at training, fastest first there: where the chosen
    # one does not run natively (bf16 on a CPU without AMX or AVX-512 BF16), the next one serves.
    runtime_order: list[Runtime] = Field(default_factory=list)
    recheck_margin: float = Field(default=0.0, ge=0, le=1)
    baseline_c: dict[str, float] = Field(default_factory=dict)
    run_config: dict[str, Any] = Field(default_factory=dict)

    def write(self, directory: Path) -> None:
        """Write ``config.json`` into ``directory``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True)
        (directory / CONFIG_FILE).write_text(text + "\n", encoding="utf-8")

    @classmethod
    def read(cls, directory: Path) -> ArtifactConfig:
        """Read and check ``config.json`` from ``directory``."""
        path = Path(directory) / CONFIG_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"no model artifact at {directory}: {CONFIG_FILE} is missing; {TRAIN_HINT}"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"corrupt artifact config {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError(f"corrupt artifact config {path}: expected a JSON object")
        found = data.get("format_version")
        if found != FORMAT_VERSION:
            raise ValueError(
                f"artifact {directory} has format_version {found!r}, this code reads "
                f"{FORMAT_VERSION}; retrain it: {TRAIN_HINT}"
            )
        if data.get("backend") not in BACKENDS:
            raise ValueError(
                f"artifact {directory} names backend {data.get('backend')!r}, "
                f"expected one of {list(BACKENDS)}"
            )
        if data.get("runtime", "torch") not in RUNTIME_CHOICES:
            raise ValueError(
                f"artifact {directory} names runtime {data.get('runtime')!r}, "
                f"expected one of {list(RUNTIME_CHOICES)}"
            )
        labels = data.get("labels", {})
        if labels.get("stance") != list(STANCE_LABELS) or labels.get("sentiment") != list(
            SENTIMENT_LABELS
        ):
            raise ValueError(
                f"artifact {directory} has labels {labels}, expected stance "
                f"{list(STANCE_LABELS)} and sentiment {list(SENTIMENT_LABELS)}"
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"corrupt artifact config {path}: {where}: {first['msg']}") from None


# The files each backend's load() reads, beside config.json (folders for the tokenizer/encoder).
REQUIRED_FILES = {
    "transformer": ("model.safetensors", "tokenizer", "encoder"),
    "baseline": ("baseline.skops",),
}
ONNX_FILES = {"onnx-fp32": ("model.onnx",), "onnx-int8": ("model.int8.onnx", "model.onnx")}


def served_runtime(config: ArtifactConfig, runtime: str | None) -> str:
    """The runtime to load: ``runtime`` when given, else the artifact's own choice.

    The artifact's bf16 choice gives way, on a CPU that only emulates bf16, to the next runtime
    that passed parity at training (``runtime_order``), else torch fp32. Asked for by name, bf16
    runs anyway, with a warning.
    """
    chosen = runtime or config.runtime
    if chosen not in RUNTIME_CHOICES:
        raise ValueError(f"unknown runtime {chosen!r}: expected one of {list(RUNTIME_CHOICES)}")
    from model.hardware import native_bf16

    if chosen == "torch-bf16" and not native_bf16():
        if runtime is not None:
            logger.warning("this CPU has no native bf16 (AMX or AVX-512 BF16): bf16 runs slowly")
            return chosen
        chosen = next((r for r in config.runtime_order if r != "torch-bf16"), "torch")
        logger.info("this CPU has no native bf16: serving %s, the next runtime that passed", chosen)
    return chosen


def served_files(config: ArtifactConfig, runtime: str | None = None) -> tuple[str, ...]:
    """The files and folders ``load_classifier`` reads for ``runtime``, config.json first.

    What a batch job ships to its workers: the ONNX runtimes need neither the torch weights nor
    the encoder folder.
    """
    if config.backend == "baseline":
        return (CONFIG_FILE, *REQUIRED_FILES["baseline"])
    chosen = served_runtime(config, runtime)
    if chosen in TORCH_RUNTIMES:
        return (CONFIG_FILE, *REQUIRED_FILES["transformer"])
    return (CONFIG_FILE, "tokenizer", *ONNX_FILES[chosen])


def check_artifact(directory: str | Path, runtime: str | None = None) -> ArtifactConfig:
    """Cheaply check that an artifact can be loaded, without loading it; return its config.

    Reads config.json (format version, backend, labels, runtime), checks the files the backend
    reads are there and not empty, and parses the safetensors header of the transformer's
    weights. Raises FileNotFoundError or ValueError that name the file. A server calls this before
    it starts workers, so a damaged model stops it with one message instead of a restart loop.
    """
    directory = Path(directory)
    config = ArtifactConfig.read(directory)
    names = REQUIRED_FILES[config.backend]
    if config.backend == "transformer":
        names += ONNX_FILES.get(served_runtime(config, runtime), ())
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
    return config


def load_classifier(
    directory: str | Path,
    runtime: str | None = None,
    recheck_margin: float | None = None,
    threads: int | None = None,
) -> Classifier:
    """Load the artifact at ``directory`` as a Classifier of the backend it names.

    For the transformer, ``runtime`` (else the artifact's own choice, see ``served_runtime``)
    picks torch (fp32 or bf16) or ONNX Runtime; ``recheck_margin`` overrides the int8 cascade's
    stored margin and ``threads`` caps the intra-op threads.
    """
    directory = Path(directory)
    config = ArtifactConfig.read(directory)
    if config.backend == "transformer":
        chosen = served_runtime(config, runtime)
        if chosen not in TORCH_RUNTIMES:
            from model.onnx_runtime import OnnxClassifier

            return OnnxClassifier(directory, chosen, recheck_margin=recheck_margin, threads=threads)
        import torch

        from model.transformer import TransformerClassifier

        if threads:
            torch.set_num_threads(threads)
        dtype = torch.bfloat16 if chosen == "torch-bf16" else torch.float32
        return TransformerClassifier.load(directory, dtype=dtype)
    from model.baseline import BaselineClassifier

    return BaselineClassifier.load(directory)
