"""BentoML service: stance and sentiment per sentence (/classify) and per document.

The model is ``stance-classifier:latest`` from the model store, or the tag in
``$STANCE_MODEL_TAG``; ``$STANCE_BACKEND`` picks transformer (default) or baseline and
``$STANCE_RUNTIME`` overrides the stored runtime (torch, onnx-fp32, onnx-int8). Requests are split
into (sentence, target) pairs and merged by an in-process micro-batcher, so concurrent requests
share forward passes; the batchable ``/infer`` API gives BentoML's adaptive batching to raw pairs.

Example:
    bentoml serve service.service:StanceService --port 3000
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import bentoml
import numpy as np
from bentoml.exceptions import BentoMLException, InvalidArgument
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from model import load_classifier
from model.artifact import check_artifact
from model.document import classify_document
from model.labels import SENTIMENT_LABELS, STANCE_LABELS
from model.predictor import TaskProbabilities, to_predictions
from service.batcher import MicroBatcher
from service.middleware import JsonOnly
from service.schemas import (
    MAX_DOCUMENT_CHARS,
    MAX_SENTENCE_CHARS,
    MAX_SENTENCES,
    MAX_TARGET_CHARS,
    MAX_TARGETS,
    ClassifyRequest,
    ClassifyResponse,
    DocumentRequest,
    DocumentResponse,
    DocumentTargetResult,
    InfoResponse,
    SentenceResult,
    check_text,
)

logger = logging.getLogger(__name__)

MODEL_TAG = os.environ.get("STANCE_MODEL_TAG", "stance-classifier:latest")
BACKEND = os.environ.get("STANCE_BACKEND", "transformer")
if BACKEND not in ("transformer", "baseline"):
    raise RuntimeError(f"STANCE_BACKEND={BACKEND!r}; expected transformer or baseline")
BATCH_SIZE = 64


def require_model(tag: str) -> None:
    """Fail at import, before workers start, when ``tag`` is not stored here or is damaged."""
    try:
        stored = bentoml.models.get(tag)
    except BentoMLException:
        raise RuntimeError(
            f"model {tag} is not in the BentoML store; train one with "
            "`stance train --config configs/us_sanctions.yaml` or set STANCE_MODEL_TAG"
        ) from None
    try:
        check_artifact(Path(stored.path) / BACKEND)
    except (OSError, ValueError) as exc:
        raise RuntimeError(
            f"model {stored.tag} ({BACKEND}) cannot be served: {exc}; retrain it with "
            "`stance train --config configs/us_sanctions.yaml` or set STANCE_MODEL_TAG to "
            "another stored model"
        ) from None


require_model(MODEL_TAG)


def check_pair(i: int, pair: list[str]) -> None:
    """Raise InvalidArgument (HTTP 400) unless ``pair`` is [sentence, target], both usable."""
    if len(pair) != 2:
        raise InvalidArgument(f"pairs[{i}] has {len(pair)} items; expected [sentence, target]")
    for what, value, limit in (
        ("sentence", pair[0], MAX_SENTENCE_CHARS),
        ("target", pair[1], MAX_TARGET_CHARS),
    ):
        try:
            check_text(value, f"pairs[{i}] {what}", limit)
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None


ACCESS_LOG = os.environ.get("STANCE_ACCESS_LOG", "0") == "1"

# The service instance of this worker process, for the plain GET routes mounted beside the APIs.
_LOADED: list[StanceService] = []


async def get_info(request: Request) -> JSONResponse:
    """GET /info: the same body as POST /info, for browsers, curl and health dashboards."""
    if not _LOADED:
        return JSONResponse({"detail": "the model is still loading; retry shortly"}, 503)
    return JSONResponse(_LOADED[0].describe().model_dump())


# A PassiveMount in BentoML: it only answers GET /info and leaves every other path to the APIs.
plain_routes = Starlette(routes=[Route("/info", get_info, methods=["GET"])])


# One worker: torch/ONNX Runtime already use every core of a small box inside one process.
@bentoml.asgi_app(plain_routes, path="/")
@bentoml.service(
    traffic={"timeout": 120, "max_concurrency": 256},
    workers=1,
    logging={"access": {"enabled": ACCESS_LOG}},
)
class StanceService:
    """Stance toward a free-text sanctions target, and sentence sentiment."""

    model_ref = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        stored = self.model_ref  # resolved from the model store
        self.tag = str(stored.tag)
        try:
            self.classifier = load_classifier(Path(stored.path) / BACKEND)
        except Exception as exc:  # a corrupt or incompatible artifact: say which and what to do
            raise RuntimeError(
                f"model {self.tag} ({BACKEND}) could not be loaded from {stored.path}: "
                f"{type(exc).__name__}: {exc}; retrain it with `stance train --config "
                "configs/us_sanctions.yaml` or set STANCE_MODEL_TAG to another stored model"
            ) from None
        self.metrics = {
            k: float(v)
            for k, v in dict(stored.info.metadata.get("metrics", {})).items()
            if isinstance(v, int | float)
        }
        self.batcher = MicroBatcher(self._rows, max_items=BATCH_SIZE)
        _LOADED[:] = [self]
        logger.info("loaded %s (%s, %s)", self.tag, BACKEND, self.runtime)

    @property
    def runtime(self) -> str:
        """What computes the forward pass: torch, onnx-fp32, onnx-int8, or scikit-learn."""
        if BACKEND == "baseline":
            return "scikit-learn"
        return str(getattr(self.classifier, "runtime", "torch"))

    def _rows(self, texts: list[str], targets: list[str]) -> np.ndarray:
        """(n, 6) probabilities: stance then sentiment, label order."""
        probs = self.classifier.predict_proba(texts, targets)
        return np.hstack([probs.stance, probs.sentiment])

    @bentoml.api(batchable=True, max_batch_size=BATCH_SIZE, max_latency_ms=30000)
    def infer(self, pairs: list[list[str]]) -> list[list[float]]:
        """Raw batched API (BentoML adaptive batching): [[sentence, target], ...] -> 6 probs."""
        if not pairs:
            return []
        for i, pair in enumerate(pairs):
            check_pair(i, pair)
        rows = self._rows([p[0] for p in pairs], [p[1] for p in pairs])
        return rows.tolist()  # type: ignore[no-any-return]

    @bentoml.api(route="/classify", input_spec=ClassifyRequest, output_spec=ClassifyResponse)
    async def classify(self, sentences: list[str], target: str) -> ClassifyResponse:
        """Classify each sentence's stance toward ``target`` and its sentiment."""
        # In-process micro-batching: BentoML's self-proxy to the batchable API dropped
        # connections under concurrent load (HTTP 500s), this path does not leave the process.
        rows = await self.batcher.submit(sentences, [target] * len(sentences))
        n_stance = len(STANCE_LABELS)
        probs = TaskProbabilities(stance=rows[:, :n_stance], sentiment=rows[:, n_stance:])
        results = [
            SentenceResult(text=s, target=target, model=self.tag, **p.as_dict())  # type: ignore[arg-type]
            for s, p in zip(sentences, to_predictions(probs), strict=True)
        ]
        return ClassifyResponse(model=self.tag, backend=BACKEND, target=target, results=results)

    @bentoml.api(
        route="/classify_document", input_spec=DocumentRequest, output_spec=DocumentResponse
    )
    def classify_document(
        self, text: str, target: str, targets: list[str] | None
    ) -> DocumentResponse:
        """Split a document into sentences, classify each per target, aggregate with evidence."""
        results = classify_document(self.classifier, text, targets or [target])
        first = results[0].sentences
        return DocumentResponse(
            model=self.tag,
            backend=BACKEND,
            n_sentences=len(first),
            windowed_sentences=sum(1 for s in first if s["windows"] != 1),
            results=[DocumentTargetResult.model_validate(r, from_attributes=True) for r in results],
        )

    @bentoml.api(route="/info", output_spec=InfoResponse)
    def info(self) -> InfoResponse:
        """Model tag, runtime, labels, calibration, training metrics, limits (GET /info too)."""
        return self.describe()

    def describe(self) -> InfoResponse:
        """The /info body (a plain method: BentoML routes calls of API methods through a client)."""
        config = self.classifier.config  # type: ignore[attr-defined]
        return InfoResponse(
            model=self.tag,
            backend=BACKEND,
            runtime=self.runtime,
            labels={"stance": list(STANCE_LABELS), "sentiment": list(SENTIMENT_LABELS)},
            temperatures=self.classifier.temperatures.as_dict(),
            base_model=str(config.base_model),
            max_length=int(config.max_length),
            metrics=self.metrics,
            limits={
                "max_sentences": MAX_SENTENCES,
                "max_sentence_chars": MAX_SENTENCE_CHARS,
                "max_document_chars": MAX_DOCUMENT_CHARS,
                "max_targets": MAX_TARGETS,
            },
        )


StanceService.add_asgi_middleware(JsonOnly)  # type: ignore[attr-defined]
