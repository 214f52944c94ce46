"""Near-duplicate detection between sentences: normalised edit similarity (rapidfuzz).

Two sentences are near-duplicates when ``fuzz.ratio`` of their normalised forms, or of their
normalised forms with the words sorted (``token_sort_ratio``), reaches the threshold. UN speeches
repeat formulas year after year ("we reiterate our call for the lifting of the embargo against
Cuba"), so near-duplicates must stay in one split. ``token_set_ratio`` is not used: it scores 100
whenever one sentence's words are a subset of the other's, so every short call ("The sanctions
should be ended now.") would match every long sentence that contains its words.

Example:
    >>> near_duplicates(["We ask for an end to the embargo."], ["We ask for an end of the embargo"])
    [(0, 0, 97)]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import numpy as np

THRESHOLD = 90


def normalise(text: str) -> str:
    """Lower-case, NFKC, letters and digits only: the key for duplicate detection."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[^\w]+", " ", text).strip()


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


def near_duplicates(
    queries: Sequence[str], choices: Sequence[str], threshold: int = THRESHOLD
) -> list[tuple[int, int, int]]:
    """Return (query index, choice index, score) for every pair scoring ``threshold`` or more.

    Scores are 0-100; the pair's score is the larger of the plain and the word-sorted ratio.
    """
    from rapidfuzz import fuzz, process

    if not queries or not choices:
        return []
    q = [normalise(t) for t in queries]
    c = [normalise(t) for t in choices]
    best = np.zeros((len(q), len(c)), dtype=np.uint8)
    for a, b in ((q, c), ([_sorted_words(t) for t in q], [_sorted_words(t) for t in c])):
        scores = process.cdist(
            a, b, scorer=fuzz.ratio, score_cutoff=threshold, workers=-1, dtype=np.uint8
        )
        np.maximum(best, scores, out=best)
    rows, cols = np.nonzero(best)
    return [(int(i), int(j), int(best[i, j])) for i, j in zip(rows, cols, strict=True)]
