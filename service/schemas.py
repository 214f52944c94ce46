"""Request and response schemas of the HTTP API (pydantic); limits live here."""

from __future__ import annotations

from typing import Annotated

from bentoml import IODescriptor
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_SENTENCES = 1000
MAX_SENTENCE_CHARS = 5000
MAX_TARGET_CHARS = 200


def check_text(value: str, what: str, limit: int) -> str:
    """Return ``value`` if it is non-blank, at most ``limit`` characters and NUL-free."""
    if not value.strip():
        raise ValueError(f"{what} is empty or whitespace; send non-empty text")
    if len(value) > limit:
        raise ValueError(f"{what} has {len(value)} characters; the limit is {limit}")
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL character")
    return value


class ClassifyRequest(IODescriptor):
    """Body of POST /classify."""

    model_config = ConfigDict(extra="forbid")

    sentences: Annotated[list[str], Field(min_length=1, max_length=MAX_SENTENCES)] = Field(
        description=f"1 to {MAX_SENTENCES} sentences, each 1 to {MAX_SENTENCE_CHARS} characters",
        examples=[["Russia will continue cooperation with Iran despite US threats."]],
    )
    target: str | None = Field(
        default=None,
        description="the sanctions regime stance is judged against, in free text; default: the "
        "model's default target (GET /info)",
        examples=["US sanctions on Iran"],
    )
    contexts: list[str | None] | None = Field(
        default=None,
        description="optional: the sentence before each sentence (null for none), one per "
        "sentence; a model that reads context uses it",
    )

    @field_validator("sentences")
    @classmethod
    def _sentences(cls, value: list[str]) -> list[str]:
        for i, s in enumerate(value):
            check_text(s, f"sentence {i}", MAX_SENTENCE_CHARS)
        return value

    @field_validator("target")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value, "target", MAX_TARGET_CHARS)

    @field_validator("contexts")
    @classmethod
    def _contexts(cls, value: list[str | None] | None) -> list[str | None] | None:
        for i, c in enumerate(value or []):
            if c is not None and len(c) > MAX_SENTENCE_CHARS:
                raise ValueError(
                    f"contexts[{i}] has {len(c)} characters; the limit is {MAX_SENTENCE_CHARS}"
                )
            if c is not None and "\x00" in c:
                raise ValueError(f"contexts[{i}] contains a NUL character")
        return value

    @model_validator(mode="after")
    def _same_length(self) -> ClassifyRequest:
        if self.contexts is not None and len(self.contexts) != len(self.sentences):
            raise ValueError(
                f"contexts has {len(self.contexts)} entries for {len(self.sentences)} sentences; "
                "send one context (or null) per sentence"
            )
        return self


class StanceScores(BaseModel):
    """Calibrated stance probabilities (sum to 1)."""

    favor: float
    against: float
    none: float


class SentimentScores(BaseModel):
    """Calibrated sentiment probabilities (sum to 1)."""

    positive: float
    negative: float
    neutral: float


class SentenceResult(BaseModel):
    """One sentence's answer."""

    text: str
    target: str
    stance: str
    stance_scores: StanceScores
    sentiment: str
    sentiment_scores: SentimentScores
    windows: int = Field(description="1, or the number of overlapping windows a long sentence took")
    model: str


class ClassifyResponse(IODescriptor):
    """Body of the /classify answer: one result per sentence, in request order."""

    model: str
    backend: str
    target: str
    results: list[SentenceResult]


MAX_DOCUMENT_CHARS = 200_000
MAX_TARGETS = 10


class DocumentRequest(IODescriptor):
    """Body of POST /classify_document."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        description=f"a whole article, 1 to {MAX_DOCUMENT_CHARS} characters",
        examples=[
            "Putin called US sanctions against Iran a violation of human rights. Talks go on."
        ],
    )
    target: str | None = Field(
        default=None,
        description="the target, when `targets` is not given; default: the model's default "
        "target (GET /info)",
    )
    targets: Annotated[list[str], Field(min_length=1, max_length=MAX_TARGETS)] | None = Field(
        default=None, description=f"up to {MAX_TARGETS} targets, one pass each"
    )

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        return check_text(value, "text", MAX_DOCUMENT_CHARS)

    @field_validator("target")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        return None if value is None else check_text(value, "target", MAX_TARGET_CHARS)

    @field_validator("targets")
    @classmethod
    def _targets(cls, value: list[str] | None) -> list[str] | None:
        for i, t in enumerate(value or []):
            check_text(t, f"targets[{i}]", MAX_TARGET_CHARS)
        return value


class DocumentSentence(BaseModel):
    """A sentence of the document with its offsets (text == document[start:end])."""

    index: int
    start: int
    end: int
    text: str
    windows: int = Field(description="1, or the number of overlapping windows a long sentence took")
    stance: str
    stance_scores: StanceScores
    sentiment: str
    sentiment_scores: SentimentScores


class DocumentTargetResult(BaseModel):
    """One target's answer: per-sentence results and the aggregate with its evidence."""

    target: str
    stance: str
    stance_confidence: float
    stance_distribution: StanceScores
    sentiment_distribution: SentimentScores
    evidence: list[int] = Field(description="indices of the sentences that carry the stance")
    sentences: list[DocumentSentence]


class DocumentResponse(IODescriptor):
    """Body of the /classify_document answer, one entry per target."""

    model: str
    backend: str
    n_sentences: int
    windowed_sentences: int
    results: list[DocumentTargetResult]


class InfoResponse(IODescriptor):
    """What the service is serving."""

    model: str
    backend: str
    runtime: str = Field(description="torch, torch-bf16, onnx-fp32, onnx-int8 or scikit-learn")
    default_target: str = Field(description="the target used when a request names none")
    labels: dict[str, list[str]]
    temperatures: dict[str, float | bool]
    base_model: str
    max_length: int
    reads_context: bool = Field(description="whether the model reads the previous sentence")
    metrics: dict[str, float]
    limits: dict[str, int]
