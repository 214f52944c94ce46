"""The analyst's web page: plain HTML, CSS and JavaScript files served by the service itself.

``GET /`` is the page (``service/static/index.html``); it calls ``POST /classify_document`` and
``GET /info`` of the same server, and loads nothing from anywhere else, so it works offline. Its
assets are under ``/static/``. BentoML's own Swagger UI, which ``GET /`` used to show, moves to
``GET /docs``.

Example:
    stance serve --port 3000   # then open http://127.0.0.1:3000/
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
# The page may talk to this server only: a CDN script or a remote font would break it offline.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


async def page(request: Request) -> Response:
    """GET /: the web page."""
    return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)


def swagger_page() -> Path | None:
    """BentoML's Swagger UI page, where this BentoML version keeps it (None if it moved)."""
    spec = importlib.util.find_spec("_bentoml_impl.server")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "main-openapi.html"
    return path if path.is_file() else None


async def docs(request: Request) -> Response:
    """GET /docs: BentoML's Swagger UI (it reads /docs.json and /static_content/)."""
    path = swagger_page()
    if path is None:
        return JSONResponse(
            {"detail": "this BentoML version has no Swagger page; the OpenAPI spec is /docs.json"},
            404,
        )
    return FileResponse(path)


def page_routes() -> list[BaseRoute]:
    """The routes of the page: /, /docs and /static/."""
    return [
        Route("/", page, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
