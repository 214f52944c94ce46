"""The fine-tuning loss of the two heads, and the ``Trainer`` that uses it.

Per task: cross-entropy weighted per item (source weighting) and optionally per class (inverse
class frequency), and, for items with a teacher's logits, knowledge distillation (Hinton et al.,
2015): ``(1 - a) * CE + a * T^2 * KL(softmax(teacher / T) || softmax(student / T))``. The two
tasks' losses are summed with the sentiment loss weight.

Example:
    trainer = DualHeadTrainer(model=model, args=args, spec=LossSpec(), ...)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from transformers import Trainer

TASKS = ("stance", "sentiment")
LABEL_KEYS = ("stance_labels", "sentiment_labels")
EXTRA_KEYS = ("sample_weight", "stance_teacher", "sentiment_teacher", "teacher_mask")


@dataclass
class LossSpec:
    """How the loss weighs tasks, classes and the teacher."""

    task_weights: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TASKS, 1.0))
    class_weights: dict[str, torch.Tensor | None] = field(
        default_factory=lambda: dict.fromkeys(TASKS, None)
    )
    distill_weight: float = 0.0
    distill_temperature: float = 2.0


def task_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    weight: torch.Tensor,
    spec: LossSpec,
    task: str,
    teacher: torch.Tensor | None = None,
    teacher_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """One task's item-weighted loss, averaged over the batch's weights."""
    class_weight = spec.class_weights[task]
    per_item = nn.functional.cross_entropy(
        logits,
        labels,
        weight=None if class_weight is None else class_weight.to(logits.device),
        reduction="none",
    )
    if teacher is not None and teacher_mask is not None and spec.distill_weight > 0:
        t = spec.distill_temperature
        soft = nn.functional.softmax(teacher / t, dim=-1)
        log_student = nn.functional.log_softmax(logits / t, dim=-1)
        kl = (soft * (torch.log(soft.clamp(min=1e-12)) - log_student)).sum(dim=-1) * t * t
        a = spec.distill_weight * teacher_mask
        per_item = (1 - a) * per_item + a * kl
    return (per_item * weight).sum() / weight.sum()


def multitask_loss(
    out: dict[str, torch.Tensor], extras: dict[str, torch.Tensor], spec: LossSpec
) -> torch.Tensor:
    """The summed loss of both heads for one batch."""
    labels = {task: extras[f"{task}_labels"] for task in TASKS}
    weight = extras.get("sample_weight")
    if weight is None:
        weight = torch.ones_like(labels["stance"], dtype=out["stance_logits"].dtype)
    loss = torch.zeros((), dtype=weight.dtype, device=weight.device)
    for task in TASKS:
        if spec.task_weights[task] == 0:
            continue
        loss = loss + spec.task_weights[task] * task_loss(
            out[f"{task}_logits"],
            labels[task],
            weight.to(out[f"{task}_logits"].dtype),
            spec,
            task,
            extras.get(f"{task}_teacher"),
            extras.get("teacher_mask"),
        )
    return loss


class DualHeadTrainer(Trainer):
    """A ``Trainer`` whose loss is ``multitask_loss``; the model returns logits only."""

    def __init__(self, *args: Any, spec: LossSpec, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        """Forward the token features; the loss reads labels, weights and teacher logits."""
        features = {k: v for k, v in inputs.items() if k not in LABEL_KEYS + EXTRA_KEYS}
        extras = {k: v for k, v in inputs.items() if k in LABEL_KEYS + EXTRA_KEYS}
        out = model(**features)
        loss = multitask_loss(out, extras, self.spec)
        return (loss, out) if return_outputs else loss
