"""ASGI middleware of the service: JSON APIs take JSON bodies only.

BentoML parses a ``multipart/form-data`` body without a boundary into an internal error (HTTP 500,
found by the OpenAPI fuzz test); every API of this service reads JSON, so any other declared
content type is answered 415 with what to send instead, before BentoML parses the body.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

JSON_TYPES = ("application/json", "")  # no Content-Type: read as JSON, as BentoML does


class JsonOnly:
    """Answer 415 to a POST whose Content-Type is not JSON."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, unless it is a POST with a non-JSON Content-Type."""
        if scope["type"] == "http" and scope["method"] == "POST":
            declared = content_type(scope["headers"])
            if declared.split(";")[0].strip().lower() not in JSON_TYPES:
                await reject(send, declared)
                return
        await self.app(scope, receive, send)


def content_type(headers: list[tuple[bytes, bytes]]) -> str:
    """The request's Content-Type header value ("" when absent)."""
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.decode("latin-1")
    return ""


async def reject(send: Send, declared: str) -> None:
    """Send a 415 whose detail says what was sent and what is expected."""
    body: dict[str, Any] = {
        "error": f"Content-Type {declared!r} is not supported; send a JSON body with "
        "'Content-Type: application/json'",
    }
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 415,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
