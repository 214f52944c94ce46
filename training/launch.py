r"""What a multi-process launch (``accelerate launch``, ``torchrun``) changes in a training run.

Every process runs ``stance train``; they fine-tune together (the Trainer's data-parallel mode,
one process per GPU) in one run folder, whose id process 0 chooses and sends to the others. Only
process 0 fits the baseline and, after fine-tuning, calibrates, exports, evaluates, stores and
reports; the others stop once fine-tuning is done.

Example:
    accelerate launch --multi_gpu --num_processes 4 -m cli.main \
        train --config configs/us_sanctions.yaml
"""

from __future__ import annotations

import os


class LaunchWorkerDone(Exception):
    """Raised in a process other than process 0 once its share of the fine-tuning is done."""


def world_size() -> int:
    """How many processes the launcher started (1 without a launcher)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's rank among them (0 without a launcher)."""
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """True in process 0, the one that writes artifacts and reports."""
    return rank() == 0


def shared(value: str) -> str:
    """Process 0's ``value`` in every process; ``value`` itself without a launcher."""
    if world_size() == 1:
        return value
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    PartialState()  # joins the launcher's process group; the Trainer reuses it
    sent: list[str] = broadcast_object_list([value], from_process=0)
    return sent[0]
