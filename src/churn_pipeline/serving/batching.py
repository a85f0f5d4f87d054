"""Adaptive micro-batching: requests that arrive while the model is busy share a call.

Scoring a batch of accounts costs much less than scoring them one call at a
time: each call pays a fixed price (thread hand-off, array set-up, the trees'
per-call overhead) before the per-account work. :class:`MicroBatcher` runs one
model call at a time on a worker thread; requests that arrive meanwhile queue
and become the next call, up to ``max_batch_size`` accounts. It never waits on
a clock: under light load a request is scored at once, alone, and under heavy
load batches grow by themselves with the queue.

One short wait it does make. When the last call answered several requests,
their callers tend to send their next requests together, a fraction of a
millisecond apart, and the first to arrive would otherwise start a call alone
and leave the rest for the one after. So after such a call the next one lets
the event loop take up to ``max_wait_turns`` turns (microseconds each) for as
many requests as the last call had to queue. A lone caller never waits: its
calls answer one request each.

BentoML's own adaptive batching (``@bentoml.api(batchable=True)``) would be the
library's way, but a batchable endpoint must answer a bare list (no model
version around the predictions), and measured against this batcher in the same
run (``python -m benchmarks.ab_serving``, the service in
``benchmarks/bentoml_batching.py``) it had lower throughput and higher tail
latency and CPU per request: docs/benchmarks.md has the numbers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Job(Generic[Item, Result]):
    items: Sequence[Item]
    future: asyncio.Future[list[Result]]


@dataclass
class BatchStats:
    """Model calls since start and the items they scored."""

    calls: int = 0
    items: int = 0
    largest: int = 0

    def record(self, size: int) -> None:
        """Count one call of ``size`` items."""
        self.calls += 1
        self.items += size
        self.largest = max(self.largest, size)


class MicroBatcher(Generic[Item, Result]):
    """Score the items of concurrent requests together, one call at a time.

    Args:
        score: Scores a list of items and returns one result per item, in order.
            Runs on a worker thread, never two calls at once.
        max_batch_size: Most items in one call; a single larger request is still
            scored, alone.
        max_wait_turns: Most event-loop turns a call waits for requests to
            join it after a call that answered several (0: never waits).

    Raises:
        ValueError: If ``max_batch_size`` is below 1 or ``max_wait_turns``
            below 0.
    """

    def __init__(
        self,
        score: Callable[[list[Item]], list[Result]],
        *,
        max_batch_size: int,
        max_wait_turns: int = 16,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        if max_wait_turns < 0:
            raise ValueError(f"max_wait_turns must be >= 0, got {max_wait_turns}")
        self.score = score
        self.max_batch_size = max_batch_size
        self.max_wait_turns = max_wait_turns
        self.stats = BatchStats()
        self._queue: deque[_Job[Item, Result]] = deque()
        self._worker: asyncio.Task[None] | None = None
        # Requests the last call answered: how many to wait for next time.
        self._last_requests = 1

    async def submit(self, items: Sequence[Item]) -> list[Result]:
        """Score ``items`` (one request's) and return their results in order."""
        future: asyncio.Future[list[Result]] = (
            asyncio.get_running_loop().create_future()
        )
        self._queue.append(_Job(items, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._queue:
            await self._let_callers_join()
            jobs = self._next_batch()
            self._last_requests = len(jobs)
            try:
                await self._run(jobs)
            except BaseException as error:
                # Never leave a request waiting: a bug here, or shutdown.
                for job in jobs:
                    _settle(job, error=error)
                if not isinstance(error, Exception):
                    raise
                logger.exception("Micro-batching failed")

    async def _let_callers_join(self) -> None:
        """After a call that answered several requests, give theirs time to queue."""
        if self._last_requests < 2:
            return
        for _ in range(self.max_wait_turns):
            if len(self._queue) >= self._last_requests:
                return
            await asyncio.sleep(0)  # one event-loop turn: reads, parses, queues

    def _next_batch(self) -> list[_Job[Item, Result]]:
        jobs = [self._queue.popleft()]
        size = len(jobs[0].items)
        while self._queue and size + len(self._queue[0].items) <= self.max_batch_size:
            job = self._queue.popleft()
            jobs.append(job)
            size += len(job.items)
        return jobs

    async def _run(self, jobs: list[_Job[Item, Result]]) -> None:
        # Requests whose clients went away need no answer.
        jobs = [job for job in jobs if not job.future.done()]
        if not jobs:
            return
        items = [item for job in jobs for item in job.items]
        try:
            results = await asyncio.to_thread(self.score, items)
        except Exception as error:
            if len(jobs) == 1:
                _settle(jobs[0], error=error)
                return
            # One request's accounts must not fail its neighbours': score each
            # request of the batch on its own to find whose they are.
            for job in jobs:
                await self._run([job])
            return
        self.stats.record(len(items))
        logger.debug(
            "Scored %d requests in one call of %d items", len(jobs), len(items)
        )
        start = 0
        for job in jobs:
            _settle(job, results=results[start : start + len(job.items)])
            start += len(job.items)


def _settle(
    job: _Job[Item, Result],
    *,
    results: list[Result] | None = None,
    error: BaseException | None = None,
) -> None:
    if job.future.done():
        return
    if isinstance(error, asyncio.CancelledError):
        job.future.cancel()
    elif error is not None:
        job.future.set_exception(error)
    else:
        job.future.set_result(results or [])
