"""BentoML service: stance and sentiment per sentence (/classify) and per document, and a web page.

The model is ``stance-classifier:latest`` from the model store, or the tag or artifact folder in
``$STANCE_MODEL``; the other ``STANCE_*`` settings are in ``service.settings``. Every request goes
through one in-process micro-batcher, so concurrent requests (sentences and documents alike) share
forward passes; the batchable ``/infer`` API gives BentoML's adaptive batching to raw pairs.
``GET /`` serves the analyst's web page (``service.web``), which calls ``/classify_document``.

Example:
    bentoml serve service.service:StanceService --port 3000
"""

from __future__ import annotations

import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import bentoml
import numpy as np
from bentoml.exceptions import InvalidArgument
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from model import load_classifier
from model.artifact import METRICS_FILE, check_artifact
from model.document import document_items, results_of, split_sentences
from model.labels import SENTIMENT_LABELS, STANCE_LABELS
from model.metrics import RunMetrics
from model.predictor import Classifier, TaskProbabilities, to_predictions
from service.batcher import MicroBatcher
from service.metrics import ITEMS, RECHECKED, WINDOWED, observe_batch
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
from service.settings import Settings, read_settings
from service.store import is_folder_ref, resolve_model
from service.web import page_routes

logger = logging.getLogger(__name__)

N_STANCE = len(STANCE_LABELS)


def startup_settings() -> Settings:
    """Settings, and a model that exists and is not damaged, or one line and exit 2.

    Runs at import, before BentoML starts workers: a bad setting or a missing or damaged model
    must stop the server once with a message, not restart a failing worker forever.
    """
    try:
        settings = read_settings()
        folder, name = resolve_model(settings.model, settings.backend)
        check_artifact(folder, settings.runtime if settings.backend == "transformer" else None)
    except (OSError, ValueError) as exc:
        print(f"error: cannot serve {name_of_model()}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logger.debug("serving %s from %s", name, folder)
    return settings


def name_of_model() -> str:
    """The model the environment asks for, for error messages that come before settings."""
    import os

    return os.environ.get("STANCE_MODEL") or "stance-classifier:latest"


SETTINGS = startup_settings()

# The service instance of this worker process, for the plain GET routes mounted beside the APIs.
_LOADED: list[StanceService] = []


async def get_info(request: Request) -> JSONResponse:
    """GET /info: the same body as POST /info, for browsers, curl and health dashboards."""
    if not _LOADED:
        return JSONResponse({"detail": "the model is still loading; retry shortly"}, 503)
    return JSONResponse(_LOADED[0].describe().model_dump())


# A PassiveMount in BentoML: it answers only its own paths (the web page at /, its /static/
# assets, Swagger at /docs, GET /info) and leaves every other path to the APIs.
plain_routes = Starlette(routes=[*page_routes(), Route("/info", get_info, methods=["GET"])])


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


def rows_to_probs(rows: np.ndarray) -> TaskProbabilities:
    """Split the batcher's (n, 7) rows back into probabilities and window counts."""
    return TaskProbabilities(
        stance=rows[:, :N_STANCE],
        sentiment=rows[:, N_STANCE : 2 * N_STANCE],
        windows=rows[:, -1].astype(np.int64),
    )


# One worker by default: torch/ONNX Runtime already use every core of a small box inside one
# process (two one-thread workers were slower on 2 cores; STANCE_WORKERS is for bigger boxes).
@bentoml.asgi_app(plain_routes, path="/")
@bentoml.service(
    traffic={"timeout": 120, "max_concurrency": 256},
    workers=SETTINGS.workers,
    logging={"access": {"enabled": SETTINGS.access_log}},
    # OpenTelemetry's middleware cost about 0.5 ms of the event loop a request: the API routes
    # skip it unless STANCE_TRACING=1 (for a configured trace exporter).
    tracing={} if SETTINGS.tracing else {"excluded_urls": "classify,infer,info"},
)
class StanceService:
    """Stance toward a free-text sanctions target, and sentence sentiment."""

    if not is_folder_ref(SETTINGS.model):  # a store model is declared, so a Bento packs it
        model_ref = bentoml.models.BentoModel(SETTINGS.model)

    def __init__(self) -> None:
        folder, self.tag = resolve_model(SETTINGS.model, SETTINGS.backend)
        # One thread loads the model and runs every forward pass. torch ran a sentence at half
        # speed in a thread other than the one that loaded the model (its OpenMP threads then
        # contend with the loader's), so both happen here.
        self.model_thread = ThreadPoolExecutor(1, thread_name_prefix="stance-model")
        self.classifier: Classifier = self.model_thread.submit(
            load_classifier, folder, SETTINGS.runtime, SETTINGS.recheck_margin, SETTINGS.threads
        ).result()
        self.metrics = self.stored_metrics(folder)
        self.default_target = self.classifier.config.default_target
        self.batcher = MicroBatcher(
            self._rows,
            max_items=SETTINGS.batch_size,
            on_batch=observe_batch,
            executor=self.model_thread,
            linger=SETTINGS.batch_wait_ms / 1000,
        )
        _LOADED[:] = [self]
        logger.info("loaded %s (%s, %s)", self.tag, SETTINGS.backend, self.runtime)

    @staticmethod
    def stored_metrics(folder: Path) -> dict[str, float]:
        """Headline macro-F1 per set and task from the artifact's metrics.json ({} if none)."""
        path = folder / METRICS_FILE
        if not path.is_file():
            return {}
        try:
            return RunMetrics.load(path).headline()
        except ValueError as exc:
            logger.warning("ignoring %s: %s", path, exc)
            return {}

    @property
    def runtime(self) -> str:
        """What runs the forward pass: torch, torch-bf16, onnx-fp32, onnx-int8 or scikit-learn."""
        if SETTINGS.backend == "baseline":
            return "scikit-learn"
        return str(getattr(self.classifier, "runtime", "torch"))

    def _rows(self, texts: list[str], targets: list[str], contexts: list[str | None]) -> np.ndarray:
        """(n, 7) rows: stance and sentiment probabilities in label order, then windows."""
        rechecked = getattr(self.classifier, "items_rechecked", 0)
        probs = self.classifier.predict_proba(texts, targets, contexts)
        ITEMS.inc(len(texts))
        WINDOWED.inc(int((probs.windows > 1).sum()))
        RECHECKED.inc(getattr(self.classifier, "items_rechecked", 0) - rechecked)
        return np.hstack([probs.stance, probs.sentiment, probs.windows[:, None]])

    @bentoml.api(batchable=True, max_batch_size=64, max_latency_ms=30000)
    def infer(self, pairs: list[list[str]]) -> list[list[float]]:
        """Raw batched API (BentoML adaptive batching): [[sentence, target], ...] -> 6 probs."""
        if not pairs:
            return []
        for i, pair in enumerate(pairs):
            check_pair(i, pair)
        rows = self.model_thread.submit(
            self._rows, [p[0] for p in pairs], [p[1] for p in pairs], [None] * len(pairs)
        ).result()
        return rows[:, : 2 * N_STANCE].tolist()  # type: ignore[no-any-return]

    @bentoml.api(route="/classify", input_spec=ClassifyRequest, output_spec=ClassifyResponse)
    async def classify(
        self, sentences: list[str], target: str | None, contexts: list[str | None] | None
    ) -> ClassifyResponse:
        """Classify each sentence's stance toward ``target`` and its sentiment."""
        target = target or self.default_target
        n = len(sentences)
        rows = await self.batcher.submit(sentences, [target] * n, contexts or [None] * n)
        results = [
            SentenceResult(text=s, target=target, model=self.tag, **asdict(p))
            for s, p in zip(sentences, to_predictions(rows_to_probs(rows)), strict=True)
        ]
        return ClassifyResponse(
            model=self.tag, backend=SETTINGS.backend, target=target, results=results
        )

    @bentoml.api(
        route="/classify_document", input_spec=DocumentRequest, output_spec=DocumentResponse
    )
    async def classify_document(
        self, text: str, target: str | None, targets: list[str] | None
    ) -> DocumentResponse:
        """Split a document into sentences, classify each per target, aggregate with evidence."""
        spans = split_sentences(text)
        if not spans:
            raise InvalidArgument("the document has no sentences: send non-empty text")
        wanted = targets or [target or self.default_target]
        rows = await self.batcher.submit(*document_items(spans, wanted))
        results = results_of(spans, wanted, rows_to_probs(rows))
        first = results[0].sentences
        return DocumentResponse(
            model=self.tag,
            backend=SETTINGS.backend,
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
        config = self.classifier.config
        return InfoResponse(
            model=self.tag,
            backend=SETTINGS.backend,
            runtime=self.runtime,
            default_target=self.default_target,
            labels={"stance": list(STANCE_LABELS), "sentiment": list(SENTIMENT_LABELS)},
            temperatures=asdict(self.classifier.temperatures),
            base_model=config.base_model,
            max_length=config.max_length,
            reads_context=config.use_context,
            metrics=self.metrics,
            limits={
                "max_sentences": MAX_SENTENCES,
                "max_sentence_chars": MAX_SENTENCE_CHARS,
                "max_document_chars": MAX_DOCUMENT_CHARS,
                "max_targets": MAX_TARGETS,
            },
        )


StanceService.add_asgi_middleware(JsonOnly)  # type: ignore[attr-defined]
