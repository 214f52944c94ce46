"""In-process micro-batching for the HTTP API.

Requests that arrive while the model is busy are answered together in its next forward pass; a
request that finds the model idle is run at once, so a single client never waits for a batch to
fill. One batch runs at a time, in a worker thread, so the event loop keeps accepting requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Rows = NDArray[np.float64]
Job = tuple[list[str], list[str], "asyncio.Future[Rows]"]


class MicroBatcher:
    """Queue (texts, targets) jobs and run them through ``fn`` in merged batches."""

    def __init__(self, fn: Callable[[list[str], list[str]], Rows], max_items: int = 64) -> None:
        self.fn = fn
        self.max_items = max_items
        self.queue: asyncio.Queue[Job] | None = None
        self.worker: asyncio.Task[None] | None = None

    async def submit(self, texts: list[str], targets: list[str]) -> Rows:
        """Return ``fn(texts, targets)``, computed in a batch with concurrent submissions."""
        if self.queue is None or self.worker is None or self.worker.done():
            self.queue = asyncio.Queue()
            self.worker = asyncio.get_running_loop().create_task(self._run(self.queue))
        future: asyncio.Future[Rows] = asyncio.get_running_loop().create_future()
        await self.queue.put((texts, targets, future))
        return await future

    async def _run(self, queue: asyncio.Queue[Job]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await queue.get()]
            size = len(jobs[0][0])
            while size < self.max_items and not queue.empty():
                jobs.append(queue.get_nowait())
                size += len(jobs[-1][0])
            texts = [t for job in jobs for t in job[0]]
            targets = [t for job in jobs for t in job[1]]
            try:
                rows = await loop.run_in_executor(None, self.fn, texts, targets)
            except Exception as exc:  # hand the failure to every waiting request
                for job in jobs:
                    if not job[2].done():
                        job[2].set_exception(exc)
                continue
            start = 0
            for job in jobs:
                end = start + len(job[0])
                if not job[2].done():
                    job[2].set_result(rows[start:end])
                start = end
