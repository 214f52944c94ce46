"""How a (target, sentence, context) item becomes the encoder's input.

Shared by training, torch and ONNX Runtime: the pair layout, token windows for long sentences,
and length-sorted batches.

Layout: segment A is the target (optionally inside a template such as "The speaker supports
{target}.", the entailment framing of Laurer et al., Political Analysis 2024); segment B is the
sentence, then the separator token and the previous sentence when the model reads context. Only
the context is ever cut to fit ``max_length``: a sentence too long for the model is split into
overlapping token windows first (``windows``), and callers average the windows' probabilities.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from transformers import PreTrainedTokenizerBase

SPECIAL_TOKENS = 3  # [CLS] target [SEP] sentence [SEP]
WINDOW_OVERLAP = 0.25  # share of a window repeated in the next one


@dataclass
class PairEncoder:
    """Builds the encoder's inputs from items; one instance per loaded model."""

    tokenizer: PreTrainedTokenizerBase
    max_length: int
    use_context: bool = False
    target_template: str = "{target}"
    _target_lengths: dict[str, int] = field(default_factory=dict, repr=False)

    def segment_a(self, target: str) -> str:
        """The first segment: the target in its template."""
        return self.target_template.format(target=target)

    def segment_b(self, text: str, context: str | None) -> str:
        """The second segment: the sentence, then the marked context when the model reads it."""
        if self.use_context and context and context.strip():
            return f"{text} {self.tokenizer.sep_token} {context}"
        return text

    def text_budget(self, target: str) -> int:
        """How many of the sentence's tokens fit beside ``target`` within ``max_length``."""
        if target not in self._target_lengths:
            ids = self.tokenizer(self.segment_a(target), add_special_tokens=False)["input_ids"]
            self._target_lengths[target] = len(ids)
        return max(8, self.max_length - SPECIAL_TOKENS - self._target_lengths[target])

    def windows(self, text: str, target: str) -> list[str]:
        """The sentence itself when it fits, else overlapping windows of it that each fit."""
        budget = self.text_budget(target)
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        offsets = enc["offset_mapping"]
        if len(offsets) <= budget:
            return [text]
        stride = max(1, int(budget * (1 - WINDOW_OVERLAP)))
        out = []
        for start in range(0, len(offsets), stride):
            end = min(start + budget, len(offsets))
            out.append(text[offsets[start][0] : offsets[end - 1][1]])
            if end == len(offsets):
                break
        return out

    def lengths(self, texts: Sequence[str], contexts: Sequence[str | None]) -> list[int]:
        """Characters each item puts into segment B (for length-sorted batches)."""
        if not self.use_context:
            return [len(t) for t in texts]
        return [len(t) + len(c or "") for t, c in zip(texts, contexts, strict=True)]

    def encode(
        self,
        texts: Sequence[str],
        targets: Sequence[str],
        contexts: Sequence[str | None] | None = None,
        return_tensors: str | None = None,
        padding: bool = True,
    ) -> Any:
        """Tokenize items; only the context (the end of segment B) is cut to fit."""
        contexts = contexts if contexts is not None else [None] * len(texts)
        return self.tokenizer(
            [self.segment_a(t) for t in targets],
            [self.segment_b(x, c) for x, c in zip(texts, contexts, strict=True)],
            truncation="only_second",
            max_length=self.max_length,
            padding=padding,
            return_tensors=return_tensors,
        )


def length_batches(lengths: Sequence[int], batch_size: int) -> Iterator[np.ndarray]:
    """Index batches of items of similar length (less padding per forward pass)."""
    order = np.argsort(lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]
