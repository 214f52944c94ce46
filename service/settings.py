"""The service's settings, read once from ``STANCE_*`` environment variables.

| variable | default | what |
|---|---|---|
| STANCE_MODEL | stance-classifier:latest | store tag, or an artifact folder to serve directly |
| STANCE_BACKEND | transformer | transformer or baseline |
| STANCE_RUNTIME | (the artifact's) | torch, torch-bf16, onnx-fp32 or onnx-int8 |
| STANCE_RECHECK_MARGIN | (the artifact's) | int8 cascade margin in [0, 1]; 0 serves plain int8 |
| STANCE_THREADS | all cores | intra-op threads (torch and ONNX Runtime) |
| STANCE_WORKERS | 1 | server processes, each with its own model (see the README) |
| STANCE_ORT_SPIN | 0 | 1 lets idle ONNX Runtime threads spin |
| STANCE_ACCESS_LOG | 0 | 1 turns BentoML's access log on |
| STANCE_TRACING | 0 | 1 traces the API routes too (OpenTelemetry, for a configured exporter) |
| STANCE_BATCH_SIZE | 64 | most items one forward pass of the micro-batcher takes |
| STANCE_BATCH_WAIT_MS | 2 | under load, how long a pass waits for more requests (0: never) |

Example:
    STANCE_BACKEND=baseline bentoml serve service.service:StanceService
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from service.store import DEFAULT_TAG

PREFIX = "STANCE_"


class Settings(BaseModel):
    """Validated service settings; a bad value is one line naming the variable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = DEFAULT_TAG
    backend: Literal["transformer", "baseline"] = "transformer"
    runtime: Literal["torch", "torch-bf16", "onnx-fp32", "onnx-int8"] | None = None
    recheck_margin: float | None = Field(default=None, ge=0, le=1)
    threads: int | None = Field(default=None, ge=1, le=256)
    workers: int = Field(default=1, ge=1, le=64)
    ort_spin: bool = False
    access_log: bool = False
    tracing: bool = False
    batch_size: int = Field(default=64, ge=1, le=1024)
    batch_wait_ms: float = Field(default=2.0, ge=0, le=1000)


def read_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read ``STANCE_*`` variables; raise ValueError naming the variable and what it takes."""
    env = os.environ if environ is None else environ
    raw = {
        name: env[PREFIX + name.upper()]
        for name in Settings.model_fields
        if env.get(PREFIX + name.upper(), "") != ""
    }
    for flag in ("ort_spin", "access_log", "tracing"):
        if flag in raw:
            raw[flag] = raw[flag] == "1"  # type: ignore[assignment]
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = PREFIX + str(err["loc"][0]).upper()
        raise ValueError(f"{name}={err.get('input')!r}: {err['msg']}") from None
