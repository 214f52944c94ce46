"""In-process micro-batching for the HTTP API.

Requests that arrive while the model is busy are answered together in its next forward pass; a
request that finds the model idle is run at once, so a single client never waits for a batch to
fill. Under load (requests already queued when a batch starts, or several in the last one) it
waits up to ``linger`` seconds for more, so that clients answered by the last pass join this one
instead of the next: with 16 clients of one sentence each, passes then hold about 16 sentences
instead of alternating around 8. One batch runs at a time, in a worker thread (``executor``, else
the loop's default), so the event loop keeps accepting requests. ``on_batch`` (if given) is told
each batch's size and how long its oldest request waited.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np
from numpy.typing import NDArray

Rows = NDArray[np.float64]
Contexts = list[str | None]
Job = tuple[list[str], list[str], Contexts, "asyncio.Future[Rows]", float]
BatchFn = Callable[[list[str], list[str], Contexts], Rows]
BatchObserver = Callable[[int, float], None]  # (items in the batch, seconds its oldest job waited)


class MicroBatcher:
    """Queue (texts, targets, contexts) jobs and run them through ``fn`` in merged batches."""

    def __init__(
        self,
        fn: BatchFn,
        max_items: int = 64,
        on_batch: BatchObserver | None = None,
        executor: Executor | None = None,
        linger: float = 0.0,
    ) -> None:
        self.fn = fn
        self.max_items = max_items
        self.linger = linger
        self.on_batch = on_batch
        self.executor = executor
        self.queue: asyncio.Queue[Job] | None = None
        self.worker: asyncio.Task[None] | None = None

    async def submit(self, texts: list[str], targets: list[str], contexts: Contexts) -> Rows:
        """Return ``fn(texts, targets, contexts)``, in a batch with concurrent submissions."""
        if self.queue is None or self.worker is None or self.worker.done():
            self.queue = asyncio.Queue()
            self.worker = asyncio.get_running_loop().create_task(self._run(self.queue))
        future: asyncio.Future[Rows] = asyncio.get_running_loop().create_future()
        await self.queue.put((texts, targets, contexts, future, time.perf_counter()))
        return await future

    async def _run(self, queue: asyncio.Queue[Job]) -> None:
        loop = asyncio.get_running_loop()
        shared = False  # whether the last pass served more than one request
        while True:
            jobs = [await queue.get()]
            # Others waiting, or several clients in the last pass: the model is the bottleneck.
            loaded = shared or not queue.empty()
            size = len(jobs[0][0])
            while size < self.max_items and not queue.empty():
                jobs.append(queue.get_nowait())
                size += len(jobs[-1][0])
            deadline = loop.time() + self.linger
            while loaded and size < self.max_items and (wait := deadline - loop.time()) > 0:
                try:
                    jobs.append(await asyncio.wait_for(queue.get(), wait))
                except TimeoutError:
                    break
                size += len(jobs[-1][0])
            shared = len(jobs) > 1
            texts = [t for job in jobs for t in job[0]]
            targets = [t for job in jobs for t in job[1]]
            contexts = [c for job in jobs for c in job[2]]
            if self.on_batch is not None:
                self.on_batch(len(texts), time.perf_counter() - jobs[0][4])
            try:
                rows = await loop.run_in_executor(self.executor, self.fn, texts, targets, contexts)
            except Exception as exc:  # hand the failure to every waiting request
                for job in jobs:
                    if not job[3].done():
                        job[3].set_exception(exc)
                continue
            start = 0
            for job in jobs:
                end = start + len(job[0])
                if not job[3].done():
                    job[3].set_result(rows[start:end])
                start = end
