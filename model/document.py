"""Whole documents: split into sentences with character offsets, classify, aggregate with evidence.

Each sentence is read with the previous sentence as its context. Sentences longer than the model
reads are never silently cut: ``Classifier.predict_proba`` reads them in overlapping windows whose
probabilities are averaged, and the result says how many windows it used.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from model.labels import SENTIMENT_LABELS, STANCE_LABELS
from model.predictor import Classifier, TaskProbabilities, to_predictions

# Words after which a period does not end a sentence (titles, initials, months, common short forms).
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sen rep gov gen lt col sgt capt adm st jr sr vs etc inc ltd co corp bros
    no nos fig jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e u.s u.k u.n e.u u.s.a
    approx dept est min max mt ft al""".split()
)
# A sentence ends at . ! ? (and closing quotes/brackets after them) followed by space and a capital,
# a digit or an opening quote; a newline always ends one (headlines, paragraphs).
_END = re.compile(r"""[.!?]+["'”’)\]]*(?=\s+["'“‘(\[]?[A-Z0-9])""")


@dataclass(frozen=True)
class Span:
    """A sentence and its character offsets in the document (text == doc[start:end])."""

    start: int
    end: int
    text: str


def _is_abbreviation(text: str, dot: int) -> bool:
    word = re.search(r"([A-Za-z][A-Za-z.]*)$", text[:dot])
    if word is None:
        return False
    token = word.group(1).lower().rstrip(".")
    return token in ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def split_sentences(text: str) -> list[Span]:
    """Split ``text`` into sentences; offsets index into ``text``."""
    spans: list[Span] = []
    for block in re.finditer(r"[^\n]+", text):
        start = block.start()
        body = block.group(0)
        cut = 0
        for m in _END.finditer(body):
            if (
                body[m.start()] == "."
                and m.end() - m.start() == 1
                and _is_abbreviation(body, m.start())
            ):
                continue
            spans.append(_span(text, start + cut, start + m.end()))
            cut = m.end()
        spans.append(_span(text, start + cut, start + len(body)))
    return [s for s in spans if s.text]


def _span(text: str, start: int, end: int) -> Span:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    return Span(start + lead, end - trail, piece.strip())


@dataclass
class DocumentResult:
    """Per-sentence answers for one target and the document-level aggregate."""

    target: str
    sentences: list[dict[str, object]]
    stance: str
    stance_confidence: float
    stance_distribution: dict[str, float]
    sentiment_distribution: dict[str, float]
    evidence: list[int] = field(default_factory=list)


def aggregate(
    spans: list[Span], probs: TaskProbabilities, target: str, top_k: int = 3
) -> DocumentResult:
    """Aggregate sentence probabilities into a document stance with its evidence sentences.

    The document takes a side (favor or against) when at least one sentence does. The side is the
    one with more favor-or-against probability mass over the sentences that take a side, so it is
    always the side of at least one sentence; its confidence is that side's share of that mass.
    Evidence: the sentences on that side, most probable first.
    """
    preds = to_predictions(probs)
    stance_mass = probs.stance.sum(axis=0)
    sentiment_mass = probs.sentiment.sum(axis=0)
    taking = np.array([p.stance != "none" for p in preds], dtype=bool)
    if taking.any():
        side_mass = probs.stance[taking, :2].sum(axis=0)
        side = int(np.argmax(side_mass))
        stance = STANCE_LABELS[side]
        confidence = float(side_mass[side] / side_mass.sum())
        order = np.argsort(-probs.stance[:, side], kind="stable")
        evidence = [int(i) for i in order if preds[i].stance == stance][:top_k]
    else:
        stance, evidence = "none", []
        confidence = float(probs.stance[:, 2].mean()) if len(preds) else 0.0
    sentences = [
        {"index": i, "start": s.start, "end": s.end, "text": s.text} | p.as_dict()
        for i, (s, p) in enumerate(zip(spans, preds, strict=True))
    ]
    total = max(len(spans), 1)
    return DocumentResult(
        target=target,
        sentences=sentences,
        stance=stance,
        stance_confidence=confidence,
        stance_distribution={
            k: float(v / total) for k, v in zip(STANCE_LABELS, stance_mass, strict=True)
        },
        sentiment_distribution={
            k: float(v / total) for k, v in zip(SENTIMENT_LABELS, sentiment_mass, strict=True)
        },
        evidence=evidence,
    )


def document_items(
    spans: Sequence[Span], targets: Sequence[str]
) -> tuple[list[str], list[str], list[str | None]]:
    """(texts, targets, contexts) for every target x sentence: one batch for the whole document."""
    texts = [s.text for s in spans]
    contexts: list[str | None] = [None, *texts[:-1]]
    n = len(targets)
    return texts * n, [t for t in targets for _ in spans], contexts * n


def classify_document(clf: Classifier, text: str, targets: Sequence[str]) -> list[DocumentResult]:
    """Split ``text`` once, classify every sentence for every target in one call, aggregate."""
    spans = split_sentences(text)
    if not spans:
        raise ValueError("the document has no sentences: send non-empty text")
    probs = clf.predict_proba(*document_items(spans, targets))
    return results_of(spans, targets, probs)


def results_of(
    spans: Sequence[Span], targets: Sequence[str], probs: TaskProbabilities
) -> list[DocumentResult]:
    """Cut the probabilities of ``document_items`` back into one aggregate per target."""
    n = len(spans)
    out = []
    for k, target in enumerate(targets):
        part = slice(k * n, (k + 1) * n)
        piece = TaskProbabilities(probs.stance[part], probs.sentiment[part], probs.windows[part])
        out.append(aggregate(list(spans), piece, target))
    return out
