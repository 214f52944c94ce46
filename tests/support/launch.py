"""Start a real ``bentoml serve`` of the service in a subprocess and wait until it is ready.

Used by the server tests and the serving benchmark; both talk to it over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """Run ``bentoml serve service.service:StanceService`` with extra environment ``env``."""
    return subprocess.Popen(
        [sys.executable, "-m", "bentoml", "serve", "service.service:StanceService",
         "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=os.environ | env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> None:
    """Poll ``/readyz`` until it answers 200; raise with the server's log if it dies or stalls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise RuntimeError(f"server not ready after {timeout}s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server, killing it if it does not exit within 30 s."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
