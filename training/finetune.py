r"""Fine-tune a pretrained encoder with two heads using the Hugging Face ``Trainer``.

Seeded and reproducible; evaluates on validation every epoch and keeps the best epoch by stance
macro-F1, stopping early when it stops improving. ``transformer.device`` (auto: a GPU when torch
sees one) and ``transformer.bf16`` come from the config; ``accelerate launch`` runs it on several
GPUs (``training.launch``).

Example:
    stance train --config configs/us_sanctions.yaml
    accelerate launch --multi_gpu --num_processes 2 -m cli.main \
        train --config configs/us_sanctions.yaml
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import f1_score
from transformers import (
    AutoTokenizer,
    EarlyStoppingCallback,
    EvalPrediction,
    PreTrainedTokenizerBase,
    TrainingArguments,
    set_seed,
)

from model.artifact import ArtifactConfig
from model.encoding import PairEncoder
from model.labels import SENTIMENT_LABELS, STANCE_LABELS
from model.transformer import DualHeadModel, TransformerClassifier, build_model
from training.config import TransformerConfig
from training.data import Example
from training.launch import world_size
from training.loss import EXTRA_KEYS, LABEL_KEYS, DualHeadTrainer, LossSpec

logger = logging.getLogger(__name__)
DEVICES = ("auto", "cpu", "cuda")


class PairDataset(torch.utils.data.Dataset[dict[str, Any]]):
    """Items laid out as the served model reads them (``model.encoding``), tokenized once."""

    def __init__(
        self,
        examples: list[Example],
        pairs: PairEncoder,
        weights: list[float] | None = None,
        teacher: dict[str, dict[str, list[float]]] | None = None,
    ) -> None:
        self.features = pairs.encode(
            [e.text for e in examples],
            [e.target for e in examples],
            [e.context for e in examples],
            padding=False,
        )
        self.stance = [STANCE_LABELS.index(e.stance) for e in examples]
        self.sentiment = [SENTIMENT_LABELS.index(e.sentiment) for e in examples]
        self.weights = weights or [1.0] * len(examples)
        # A teacher's logits per item id (knowledge distillation); items it lacks get mask 0.
        self.teacher = None if teacher is None else [teacher.get(e.id) for e in examples]

    def __len__(self) -> int:
        return len(self.stance)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = {k: v[i] for k, v in self.features.items()}
        item["stance_labels"] = self.stance[i]
        item["sentiment_labels"] = self.sentiment[i]
        item["sample_weight"] = self.weights[i]
        if self.teacher is not None:
            t = self.teacher[i]
            item["teacher_mask"] = 0.0 if t is None else 1.0
            item["stance_teacher"] = [0.0] * 3 if t is None else t["stance"]
            item["sentiment_teacher"] = [0.0] * 3 if t is None else t["sentiment"]
        return item


class PairCollator:
    """Pad token features, stack the two label columns."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.tokenizer = tokenizer

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Return one padded batch with ``stance_labels`` and ``sentiment_labels``."""
        keys = [k for k in (*LABEL_KEYS, *EXTRA_KEYS) if k in items[0]]
        labels = {k: torch.tensor([it.pop(k) for it in items]) for k in keys}
        batch = dict(self.tokenizer.pad(items, return_tensors="pt"))
        batch.update(labels)
        return batch


def read_teacher(path: Path) -> dict[str, dict[str, list[float]]]:
    """A teacher's logits per item id, from ``stance distill-targets`` output."""
    import json

    if not path.is_file():
        raise FileNotFoundError(
            f"distillation targets {path} not found; write them with `stance distill-targets`"
        )
    out = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[row["id"]] = {"stance": row["stance_logits"], "sentiment": row["sentiment_logits"]}
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(
                f'{path}:{lineno}: expected {{"id", "stance_logits", "sentiment_logits"}} ({exc})'
            ) from None
    logger.info("distilling from %d teacher items in %s", len(out), path)
    return out


def class_weights(labels: list[int], k: int) -> torch.Tensor:
    """Inverse-frequency class weights, normalised to mean 1 (class-balanced cross-entropy)."""
    counts = np.bincount(labels, minlength=k).astype(float)
    w = counts.sum() / (k * np.maximum(counts, 1.0))
    return torch.tensor(w / w.mean(), dtype=torch.float32)


def pick_device(wanted: str) -> str:
    """The device to train on: a GPU when asked for or, under "auto", when one is present."""
    if wanted not in DEVICES:
        raise ValueError(f"transformer.device is {wanted!r}, expected one of {list(DEVICES)}")
    if wanted == "cuda" and not torch.cuda.is_available():
        build = " (a CPU-only build)" if torch.version.cuda is None else ""
        raise ValueError(
            f"transformer.device is cuda but torch {torch.__version__}{build} sees no GPU; set "
            "device: auto or cpu, or install a CUDA build of torch on a machine with a GPU"
        )
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return wanted


def check_precision(bf16: bool, device: str) -> None:
    """Raise ValueError when bf16 is asked of a GPU that has no bfloat16 arithmetic."""
    if bf16 and device == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(
            f"transformer.bf16 needs a GPU with bfloat16 (compute capability 8.0 or newer); "
            f"{torch.cuda.get_device_name()} has none: set bf16: false"
        )


def training_arguments(
    config: TransformerConfig,
    device: str,
    work_dir: Path,
    seed: int,
    steps_per_epoch: int,
    select: str,
) -> TrainingArguments:
    """The Trainer's arguments for one run.

    ``device`` decides CPU or GPU (each process of a launch takes one), bf16 is the config's;
    evaluation and checkpoints every epoch, the best epoch kept by ``select``.
    """
    return TrainingArguments(
        output_dir=str(work_dir),
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=int(config.warmup_ratio * steps_per_epoch * config.epochs),
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model=select,
        greater_is_better=True,
        logging_steps=max(1, steps_per_epoch // 4),
        report_to=[],
        seed=seed,
        data_seed=seed,
        use_cpu=device == "cpu",
        bf16=config.bf16,
        label_names=["stance_labels", "sentiment_labels"],
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )


def compute_metrics(pred: EvalPrediction) -> dict[str, float]:
    """Macro-F1 of both heads on the validation split."""
    predictions: Any = pred.predictions
    label_ids: Any = pred.label_ids
    stance_logits, sentiment_logits = predictions[0], predictions[1]
    stance_true, sentiment_true = label_ids[0], label_ids[1]
    stance_f1 = f1_score(stance_true, np.argmax(stance_logits, -1), average="macro")
    sentiment_f1 = f1_score(sentiment_true, np.argmax(sentiment_logits, -1), average="macro")
    return {
        "stance_macro_f1": float(stance_f1),
        "sentiment_macro_f1": float(sentiment_f1),
        "mean_macro_f1": float((stance_f1 + sentiment_f1) / 2),
    }


def fine_tune(
    train: list[Example],
    validation: list[Example],
    config: TransformerConfig,
    base_model: Path,
    seed: int,
    work_dir: Path,
    tasks: list[str] | None = None,
    weights: list[float] | None = None,
) -> tuple[TransformerClassifier, dict[str, Any]]:
    """Fine-tune and return the best-on-validation classifier and a training log summary.

    ``weights`` weighs each training item's loss (source weighting). The returned classifier's
    artifact config holds the input layout; the caller fills in the run's other fields.
    """
    set_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    weights = weights or [1.0] * len(train)
    if config.max_train_examples is not None and len(train) > config.max_train_examples:
        rng = np.random.default_rng(seed)
        keep = sorted(rng.choice(len(train), config.max_train_examples, replace=False))
        train, weights = [train[i] for i in keep], [weights[i] for i in keep]
        logger.warning("training on %d of the training examples (max_train_examples)", len(train))
    tokenizer = AutoTokenizer.from_pretrained(str(base_model))
    pairs = PairEncoder(tokenizer, config.max_length, config.use_context, config.target_template)
    model = build_model(base_model, dropout=config.dropout)
    tasks = tasks or ["stance", "sentiment"]
    teacher = read_teacher(config.distill.targets) if config.distill else None
    train_ds = PairDataset(train, pairs, weights, teacher)
    val_ds = PairDataset(validation, pairs)
    spec = LossSpec(
        task_weights={
            "stance": 1.0 if "stance" in tasks else 0.0,
            "sentiment": config.sentiment_loss_weight if "sentiment" in tasks else 0.0,
        },
        distill_weight=config.distill.weight if config.distill else 0.0,
        distill_temperature=config.distill.temperature if config.distill else 1.0,
    )
    if config.class_balanced:
        spec.class_weights = {
            "stance": class_weights(train_ds.stance, len(STANCE_LABELS)),
            "sentiment": class_weights(train_ds.sentiment, len(SENTIMENT_LABELS)),
        }
    device = pick_device(config.device)
    check_precision(config.bf16, device)
    if device == "cuda":  # cuBLAS is deterministic only with a fixed workspace (CUDA docs)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # Each process of a multi-process launch reads batch_size items a step.
    steps_per_epoch = math.ceil(len(train_ds) / (config.batch_size * world_size()))
    select = f"{tasks[0]}_macro_f1" if config.select_on == "stance" else "mean_macro_f1"
    args = training_arguments(config, device, work_dir, seed, steps_per_epoch, select)
    trainer = DualHeadTrainer(
        spec=spec,
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=val_ds,
        data_collator=PairCollator(tokenizer),
        compute_metrics=compute_metrics,
        callbacks=[EarlyStoppingCallback(early_stopping_patience=config.early_stopping_patience)],
    )
    result = trainer.train()
    history = [
        {k: v for k, v in row.items() if k.startswith("eval_") or k == "epoch"}
        for row in trainer.state.log_history
        if "eval_stance_macro_f1" in row
    ]
    artifact = ArtifactConfig(
        backend="transformer",
        base_model=str(base_model),
        max_length=config.max_length,
        use_context=config.use_context,
        target_template=config.target_template,
        seed=seed,
    )
    trained: DualHeadModel = trainer.model  # type: ignore[assignment]
    clf = TransformerClassifier(trained.to("cpu"), tokenizer, artifact)
    summary = {
        "train_seconds": float(result.metrics.get("train_runtime", 0.0)),
        "train_examples": len(train_ds),
        "device": device,
        "processes": world_size(),
        "bf16": config.bf16,
        "epochs_run": float(trainer.state.epoch or 0.0),
        "best_checkpoint_metric": trainer.state.best_metric,
        "validation_history": history,
    }
    return clf, summary
