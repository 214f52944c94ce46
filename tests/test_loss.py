import torch

from training.loss import LossSpec, multitask_loss


def batch(teacher=None, mask=None):
    out = {
        "stance_logits": torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]),
        "sentiment_logits": torch.tensor([[0.0, 0.0, 3.0], [1.0, 0.0, 0.0]]),
    }
    extras = {
        "stance_labels": torch.tensor([0, 1]),
        "sentiment_labels": torch.tensor([2, 0]),
        "sample_weight": torch.tensor([1.0, 1.0]),
    }
    if teacher is not None:
        extras |= {"stance_teacher": teacher[0], "sentiment_teacher": teacher[1],
                   "teacher_mask": mask}  # fmt: skip
    return out, extras


def ce(logits, labels):
    return torch.nn.functional.cross_entropy(logits, labels)


def test_plain_loss_is_the_weighted_sum_of_both_cross_entropies():
    out, extras = batch()
    spec = LossSpec(task_weights={"stance": 1.0, "sentiment": 0.5})
    want = ce(out["stance_logits"], extras["stance_labels"]) + 0.5 * ce(
        out["sentiment_logits"], extras["sentiment_labels"]
    )
    assert torch.isclose(multitask_loss(out, extras, spec), want)


def test_item_weights_shift_the_loss_toward_heavier_items():
    out, extras = batch()
    spec = LossSpec(task_weights={"stance": 1.0, "sentiment": 0.0})
    extras["sample_weight"] = torch.tensor([1.0, 0.0])
    only_first = ce(out["stance_logits"][:1], extras["stance_labels"][:1])
    assert torch.isclose(multitask_loss(out, extras, spec), only_first)


def test_distillation_to_the_student_itself_leaves_only_the_hard_part():
    out, extras = batch()
    same = (out["stance_logits"].clone(), out["sentiment_logits"].clone())
    _, with_teacher = batch(same, torch.tensor([1.0, 1.0]))
    spec = LossSpec(distill_weight=0.5, distill_temperature=2.0)
    plain = multitask_loss(out, extras, LossSpec())
    assert torch.isclose(multitask_loss(out, with_teacher, spec), 0.5 * plain, atol=1e-6)
    _, masked = batch(same, torch.tensor([0.0, 0.0]))
    assert torch.isclose(multitask_loss(out, masked, spec), plain)
