"""HTTP load generator for the serving benchmark (runs in its own process).

Two modes, both bounded in time and in requests:

- :func:`closed_loop`: ``concurrency`` clients, each sending its next request
  as soon as the previous one is answered (asyncio + ``httpx.AsyncClient``).
  Once ``warmup_s`` has passed and every client has had an answer (a slow
  server's queue is then in steady state), a measurement window of
  ``duration_s`` counts the requests that *complete* inside it; when the
  window ends (or ``max_requests`` completed in it) no new request starts and
  the ones in flight are waited for, so the next scenario finds an idle
  server. Errors
  (non-2xx answers and transport errors) are counted over the whole run,
  warm-up and drain included.
- :func:`open_loop`: requests start at a steady ``rate`` whatever the answers
  take, for ``duration_s``; a start is skipped (and counted) when
  ``max_in_flight`` requests are already waiting, so an overloaded server
  shows up as skipped starts and long latencies rather than an unbounded queue.

Both return plain dicts (picklable, JSON-ready): latencies in milliseconds of
the counted requests, error counts and samples, and the measured durations.
The request bodies are given already encoded, so building them costs nothing
while measuring.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx

logger = logging.getLogger("benchmarks.loadgen")

JSON_HEADERS = {"content-type": "application/json"}
MAX_ERROR_SAMPLES = 5


class _Tally:
    """Outcome counts of the requests one run sent."""

    def __init__(self) -> None:
        self.statuses: Counter[str] = Counter()
        self.errors = 0
        self.error_samples: list[str] = []

    def record(self, status: int | None, detail: str = "") -> bool:
        """Count one answer (``None``: transport error); return whether it is OK."""
        self.statuses["transport_error" if status is None else str(status)] += 1
        ok = status is not None and 200 <= status < 300
        if not ok:
            self.errors += 1
            if len(self.error_samples) < MAX_ERROR_SAMPLES:
                self.error_samples.append(f"{status}: {detail[:300]}")
        return ok

    def as_dict(self) -> dict[str, Any]:
        return {
            "errors": self.errors,
            "statuses": dict(self.statuses),
            "error_samples": self.error_samples,
        }


async def _send(
    client: httpx.AsyncClient, url: str, body: bytes, tally: _Tally
) -> tuple[bool, float]:
    """POST one body; return whether it succeeded and its latency in ms."""
    began = time.perf_counter()
    try:
        response = await client.post(url, content=body, headers=JSON_HEADERS)
        status, detail = response.status_code, response.text
    except httpx.HTTPError as error:
        status, detail = None, f"{type(error).__name__}: {error}"
    latency_ms = (time.perf_counter() - began) * 1000.0
    return tally.record(status, detail), latency_ms


def _client(concurrency: int, timeout_s: float) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency
    )
    return httpx.AsyncClient(timeout=timeout_s, limits=limits)


def closed_loop(
    url: str,
    bodies: Sequence[bytes],
    *,
    concurrency: int,
    duration_s: float,
    warmup_s: float,
    max_requests: int,
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """``concurrency`` clients sending ``bodies`` in turn; see the module doc.

    Returns:
        ``latencies_ms`` of the requests completed in the window (successful
        or not), ``requests`` (their number), ``window_s``, ``warmup_requests``,
        ``drained_requests``, ``errors``, ``statuses`` and ``error_samples``.
    """
    return asyncio.run(
        _closed_loop(
            url, bodies, concurrency, duration_s, warmup_s, max_requests, timeout_s
        )
    )


async def _closed_loop(
    url: str,
    bodies: Sequence[bytes],
    concurrency: int,
    duration_s: float,
    warmup_s: float,
    max_requests: int,
    timeout_s: float,
) -> dict[str, Any]:
    if not bodies or concurrency < 1:
        raise ValueError("Need request bodies and at least one client")
    tally = _Tally()
    latencies: list[float] = []
    counts = {"warmup": 0, "drained": 0, "sent": 0}
    began = time.perf_counter()
    warm_until = began + warmup_s
    # The window opens once warm-up time has passed *and* every client has had
    # an answer, so the queue a slow server builds up is in steady state.
    window: dict[str, float] = {}
    answered: set[int] = set()
    opened = asyncio.Event()
    stop = asyncio.Event()

    def close(now: float) -> None:
        if not stop.is_set():
            window["closed"] = min(now, window["end"])
            stop.set()

    async def client_loop(index: int, client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            body = bodies[counts["sent"] % len(bodies)]
            counts["sent"] += 1
            _, latency_ms = await _send(client, url, body, tally)
            now = time.perf_counter()
            if not opened.is_set():
                counts["warmup"] += 1
                answered.add(index)
                if len(answered) == concurrency and now >= warm_until:
                    window.update(start=now, end=now + duration_s)
                    opened.set()
            elif now <= window["end"] and not stop.is_set():
                latencies.append(latency_ms)
                if len(latencies) >= max_requests:
                    close(now)
            else:
                counts["drained"] += 1
                close(now)

    async def stopper() -> None:
        await opened.wait()
        await asyncio.sleep(max(0.0, window["end"] - time.perf_counter()))
        close(time.perf_counter())

    async with _client(concurrency, timeout_s) as client:
        timer = asyncio.create_task(stopper())
        await asyncio.gather(*(client_loop(i, client) for i in range(concurrency)))
        timer.cancel()
    return {
        "latencies_ms": latencies,
        "requests": len(latencies),
        "window_s": max(window["closed"] - window["start"], 1e-9),
        "warmup_requests": counts["warmup"],
        "warmup_s": window["start"] - began,
        "drained_requests": counts["drained"],
        "wall_s": time.perf_counter() - began,
        **tally.as_dict(),
    }


def open_loop(
    url: str,
    bodies: Sequence[bytes],
    *,
    rate: float,
    duration_s: float,
    max_in_flight: int,
    interval_s: float = 10.0,
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """Requests started at ``rate`` per second for ``duration_s``; see the module doc.

    Returns:
        ``latencies_ms`` of every answered or failed request, ``requests``,
        ``skipped`` (starts not made because ``max_in_flight`` were waiting),
        ``wall_s``, ``errors``, ``statuses``, ``error_samples`` and
        ``intervals`` (per ``interval_s``: requests completed, errors and
        latency percentiles of the requests completed in it).
    """
    return asyncio.run(
        _open_loop(url, bodies, rate, duration_s, max_in_flight, interval_s, timeout_s)
    )


async def _open_loop(
    url: str,
    bodies: Sequence[bytes],
    rate: float,
    duration_s: float,
    max_in_flight: int,
    interval_s: float,
    timeout_s: float,
) -> dict[str, Any]:
    if not bodies or rate <= 0:
        raise ValueError("Need request bodies and a positive rate")
    tally = _Tally()
    done: list[tuple[float, float, bool]] = []  # (completed at, latency, ok)
    in_flight: set[asyncio.Task] = set()
    skipped = 0
    began = time.perf_counter()
    total = int(duration_s * rate)

    async def one(client: httpx.AsyncClient, body: bytes) -> None:
        ok, latency_ms = await _send(client, url, body, tally)
        done.append((time.perf_counter() - began, latency_ms, ok))

    async with _client(max_in_flight, timeout_s) as client:
        for index in range(total):
            delay = began + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(in_flight) >= max_in_flight:
                skipped += 1
                continue
            task = asyncio.create_task(one(client, bodies[index % len(bodies)]))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.gather(*in_flight)
    wall_s = time.perf_counter() - began
    return {
        "latencies_ms": [latency for _, latency, _ in done],
        "requests": len(done),
        "offered": total,
        "skipped": skipped,
        "wall_s": wall_s,
        "intervals": _intervals(done, interval_s),
        **tally.as_dict(),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), linear between order statistics.

    The same definition as ``numpy.percentile``'s default, without numpy.

    Raises:
        ValueError: If ``values`` is empty or ``q`` is outside 0..100.
    """
    if not values:
        raise ValueError("No values")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"Percentile outside 0..100: {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def latency_summary(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99, mean and max of latencies in ms (``None`` when empty)."""
    keys = ("p50_ms", "p95_ms", "p99_ms", "mean_ms", "max_ms")
    if not latencies_ms:
        return dict.fromkeys(keys)
    values = [
        percentile(latencies_ms, 50),
        percentile(latencies_ms, 95),
        percentile(latencies_ms, 99),
        sum(latencies_ms) / len(latencies_ms),
        max(latencies_ms),
    ]
    return {key: round(value, 3) for key, value in zip(keys, values, strict=True)}


def _intervals(
    done: Sequence[tuple[float, float, bool]], interval_s: float
) -> list[dict[str, Any]]:
    """Requests, errors and latency percentiles per ``interval_s`` of completion."""
    buckets: dict[int, list[tuple[float, bool]]] = {}
    for completed, latency, ok in done:
        buckets.setdefault(int(completed // interval_s), []).append((latency, ok))
    out = []
    for index in sorted(buckets):
        rows = buckets[index]
        summary = latency_summary([latency for latency, _ in rows])
        out.append(
            {
                "t_end_s": round((index + 1) * interval_s, 1),
                "requests": len(rows),
                "errors": sum(not ok for _, ok in rows),
                "p50_ms": summary["p50_ms"],
                "p99_ms": summary["p99_ms"],
            }
        )
    return out
