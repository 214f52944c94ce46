"""The service without a server: the class called directly, and its ASGI app over HTTP in-process,
on the tiny trained model; plus the micro-batcher and the JSON-only middleware alone."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from service.batcher import MicroBatcher
from service.middleware import JsonOnly


@pytest.fixture(scope="module")
def service_module(tiny_run: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """service.service imported with the tiny model as STANCE_MODEL."""
    mp = pytest.MonkeyPatch()
    mp.setenv("STANCE_MODEL", tiny_run["model_tag"])
    import service.service

    module = importlib.reload(service.service)
    yield module
    mp.undo()


def test_the_class_answers_classify_and_documents(service_module, tiny_run):
    svc = service_module.StanceService.inner()
    body = asyncio.run(svc.classify(["Sanctions are cruel.", "Talks go on."], None, None))
    assert body.model == tiny_run["model_tag"]
    assert body.target == svc.default_target == "US sanctions"
    assert [r.text for r in body.results] == ["Sanctions are cruel.", "Talks go on."]
    doc = asyncio.run(svc.classify_document("Sanctions are cruel. Talks go on.", None, ["A", "B"]))
    assert [r.target for r in doc.results] == ["A", "B"] and doc.n_sentences == 2
    assert svc.describe().model == tiny_run["model_tag"]


@pytest.fixture(scope="module")
def asgi_client(service_module: Any) -> Iterator[Any]:
    """The service's ASGI app over in-process HTTP (one per process: its metrics are global)."""
    from starlette.testclient import TestClient

    with TestClient(service_module.StanceService.to_asgi()) as client:
        yield client


def test_the_asgi_app_serves_classify_info_and_415(asgi_client):
    client = asgi_client
    r = client.post("/classify", json={"sentences": ["Sanctions are cruel."]})
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["windows"] == 1
    assert client.get("/info").json() == client.post("/info", json={}).json()
    bad = client.post("/classify", content=b"x", headers={"content-type": "text/plain"})
    assert bad.status_code == 415
    assert bad.json() == {
        "error": "Content-Type 'text/plain' is not supported; send a JSON body with "
        "'Content-Type: application/json'"
    }
    empty = client.post("/classify", json={"sentences": []})
    assert empty.status_code == 400 and "at least 1 item" in empty.text


def rows_of(texts: list[str], targets: list[str], contexts: list[str | None]) -> np.ndarray:
    return np.array(
        [[float(len(t)), float(c is not None)] for t, c in zip(texts, contexts, strict=True)]
    )


def test_batcher_merges_concurrent_jobs_and_returns_each_its_rows():
    calls: list[int] = []

    def fn(texts, targets, contexts):
        calls.append(len(texts))
        return rows_of(texts, targets, contexts)

    async def go() -> list[np.ndarray]:
        batcher = MicroBatcher(fn, max_items=64)
        jobs = [batcher.submit(["x" * (i + 1)] * (i + 1), ["t"] * (i + 1), [None] * (i + 1))
                for i in range(5)]  # fmt: skip
        return await asyncio.gather(*jobs)

    results = asyncio.run(go())
    for i, rows in enumerate(results):
        assert rows.shape == (i + 1, 2) and (rows[:, 0] == i + 1).all()
    assert sum(calls) == 15 and len(calls) < 5  # some jobs shared a forward pass


def test_batcher_hands_a_failure_to_every_waiting_job_and_keeps_working():
    state = {"fail": True}

    def fn(texts, targets, contexts):
        if state["fail"]:
            raise RuntimeError("model exploded")
        return rows_of(texts, targets, contexts)

    async def go() -> tuple[list[Any], np.ndarray]:
        batcher = MicroBatcher(fn)
        failed = await asyncio.gather(
            batcher.submit(["a"], ["t"], [None]),
            batcher.submit(["b"], ["t"], ["c"]),
            return_exceptions=True,
        )
        state["fail"] = False
        return failed, await batcher.submit(["ok"], ["t"], ["c"])

    failed, after = asyncio.run(go())
    assert all(isinstance(f, RuntimeError) and str(f) == "model exploded" for f in failed)
    assert after.tolist() == [[2.0, 1.0]]


def test_json_only_middleware_passes_json_and_rejects_the_rest():
    seen: list[str] = []

    async def app(scope, receive, send):
        seen.append(scope["path"])

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    def scope(content_type: str | None, method: str = "POST") -> dict:
        headers = [] if content_type is None else [(b"content-type", content_type.encode())]
        return {"type": "http", "method": method, "path": "/classify", "headers": headers}

    mw = JsonOnly(app)
    for ok in ("application/json", "application/json; charset=utf-8", None):
        asyncio.run(mw(scope(ok), receive, send))
    asyncio.run(mw(scope("multipart/form-data", method="GET"), receive, send))
    assert seen == ["/classify"] * 4 and sent == []
    asyncio.run(mw(scope("multipart/form-data"), receive, send))
    assert sent[0]["status"] == 415
    assert json.loads(sent[1]["body"])["error"].startswith(
        "Content-Type 'multipart/form-data' is not supported"
    )


def test_the_asgi_app_serves_the_web_page_its_assets_and_swagger(asgi_client):
    from service.web import STATIC

    client = asgi_client
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.text == (STATIC / "index.html").read_text(encoding="utf-8")
    assert page.headers["content-security-policy"].startswith("default-src 'self';")
    for name, kind in (("app.js", "text/javascript"), ("style.css", "text/css")):
        asset = client.get(f"/static/{name}")
        assert asset.status_code == 200, name
        assert asset.headers["content-type"] == f"{kind}; charset=utf-8"
        assert asset.text == (STATIC / name).read_text(encoding="utf-8")
    assert client.get("/static/nope.js").status_code == 404
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    # the page and the APIs share the server: POST routes are untouched
    assert client.post("/classify", json={"sentences": ["Sanctions hurt."]}).status_code == 200


def test_classify_docs_gives_what_the_asgi_app_answers_on_the_seeds(asgi_client, tiny_run, capsys):
    """One code path: `stance classify-docs` and POST /classify_document agree to the last bit."""
    from pathlib import Path

    from cli.main import main
    from tests.support.documents import as_api_results, read_rows

    targets = ["US sanctions on Iran", "UN sanctions"]
    argv = ["classify-docs", "seeds", "--format", "jsonl", "--model", tiny_run["model_tag"]]
    assert main([*argv, "--target", targets[0], "--target", targets[1]]) == 0
    rows = read_rows(capsys.readouterr().out)
    seeds = sorted(Path("seeds").glob("*.txt"))
    assert sorted({r["document"] for r in rows}) == [str(p) for p in seeds]
    for path in seeds:
        r = asgi_client.post(
            "/classify_document",
            json={"text": path.read_text(encoding="utf-8"), "targets": targets},
        )
        assert r.status_code == 200, r.text
        assert as_api_results(rows, str(path)) == r.json()["results"]


def test_batcher_under_load_lingers_for_the_clients_it_just_answered():
    """16 clients that resubmit at once: with a linger, passes hold them all; without, fewer."""

    def batches(linger: float) -> list[int]:
        calls: list[int] = []

        def fn(texts, targets, contexts):
            calls.append(len(texts))
            time.sleep(0.01)  # a forward pass
            return rows_of(texts, targets, contexts)

        async def client(batcher: MicroBatcher, i: int) -> None:
            for k in range(6):
                await batcher.submit([f"s{i}"], ["t"], [None])
                # The response travels and the next request comes back, some clients sooner.
                await asyncio.sleep(0.0005 * ((i + k) % 5))

        async def go() -> None:
            batcher = MicroBatcher(fn, max_items=64, linger=linger)
            await asyncio.gather(*(client(batcher, i) for i in range(16)))

        asyncio.run(go())
        assert sum(calls) == 96  # every sentence answered once
        return calls

    eager, lingering = batches(0.0), batches(0.005)
    assert np.mean(lingering) > np.mean(eager)
    assert max(lingering) <= 16 and np.median(lingering) == 16


def test_a_lone_request_never_lingers():
    def fn(texts, targets, contexts):
        return rows_of(texts, targets, contexts)

    async def go() -> float:
        batcher = MicroBatcher(fn, linger=5.0)  # a wait this long would show
        start = time.perf_counter()
        for _ in range(3):
            await batcher.submit(["a"], ["t"], [None])
        return time.perf_counter() - start

    assert asyncio.run(go()) < 1.0
