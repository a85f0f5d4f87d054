"""HTTP load generator for the serving benchmark (runs in its own process).

Two modes, both bounded in time and in requests:

- :func:`closed_loop`: ``concurrency`` clients, each sending its next request
  as soon as the previous one is answered, each on its own keep-alive
  connection.
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

The client is a minimal HTTP/1.1 one over asyncio streams (:class:`Connection`)
rather than ``httpx``: on the 2-core benchmark machine the load generator
shares the cores with the server, and ``httpx.AsyncClient`` spent ~2.2 ms of
CPU per request (a whole core at 460 requests/s, more than the server it
measured) against ~0.2 ms here. It sends ``POST`` with ``Content-Length``,
keeps the connection alive and reads ``Content-Length`` or chunked answers,
which is all the benchmarked servers need.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.parse
from collections import Counter
from collections.abc import Sequence
from typing import Any

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


class HTTPProtocolError(Exception):
    """An answer that is not the HTTP/1.1 this client reads."""


class Connection:
    """One keep-alive HTTP/1.1 connection that POSTs bodies to one URL.

    Connects on first use, again after any failure, and before sending on a
    connection the server has closed while it was idle (as servers do after
    their keep-alive timeout), so a server that closes the connection costs a
    reconnect, not an error.
    """

    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"Need an http:// URL with a host, got {url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.timeout_s = timeout_s
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        self._head = (
            f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode("ascii")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """Send ``body``; return the status code and the answer's body.

        Raises:
            OSError, asyncio.IncompleteReadError, TimeoutError or
            HTTPProtocolError: The exchange failed (the connection is closed).
        """
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._exchange(body)
        except BaseException:
            self.close()
            raise

    async def _exchange(self, body: bytes) -> tuple[int, bytes]:
        if self._reader is not None and self._reader.at_eof():
            # The server closed it while idle (a keep-alive timeout): sending
            # on it would read an empty answer. Clients reconnect here.
            self.close()
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(
                self.host, self.port
            )
        reader, writer = self._reader, self._writer
        writer.write(self._head + b"%d\r\n\r\n" % len(body) + body)
        status_line = await reader.readline()
        fields = status_line.split(None, 2)
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/1."):
            raise HTTPProtocolError(f"Bad status line {status_line[:100]!r}")
        status = int(fields[1])
        length, chunked, keep_alive = None, False, fields[0] == b"HTTP/1.1"
        while (line := await reader.readline()) not in (b"\r\n", b"\n"):
            if not line:
                raise asyncio.IncompleteReadError(b"", None)
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":  # overrides the version's default
                keep_alive = value == b"keep-alive" or (
                    keep_alive and value != b"close"
                )
        if chunked:
            content = await self._read_chunks(reader)
        elif length is not None:
            content = await reader.readexactly(length)
        else:  # the body runs to the end of the connection
            content, keep_alive = await reader.read(), False
        if not keep_alive:
            self.close()
        return status, content

    @staticmethod
    async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
        parts = []
        while size := int((await reader.readline()).split(b";")[0], 16):
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        while await reader.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailer fields
        return b"".join(parts)

    def close(self) -> None:
        """Drop the connection (the next request reconnects)."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def _send(
    connection: Connection, body: bytes, tally: _Tally
) -> tuple[bool, float]:
    """POST one body; return whether it succeeded and its latency in ms."""
    began = time.perf_counter()
    try:
        status, content = await connection.post(body)
        detail = content.decode("utf-8", "replace") if status >= 300 else ""
    except (
        OSError,
        asyncio.IncompleteReadError,
        HTTPProtocolError,
        ValueError,
    ) as error:
        status, detail = None, f"{type(error).__name__}: {error}"
    latency_ms = (time.perf_counter() - began) * 1000.0
    return tally.record(status, detail), latency_ms


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

    async def client_loop(index: int) -> None:
        connection = Connection(url, timeout_s)
        try:
            await requests_of(index, connection)
        finally:
            connection.close()

    async def requests_of(index: int, connection: Connection) -> None:
        while not stop.is_set():
            body = bodies[counts["sent"] % len(bodies)]
            counts["sent"] += 1
            _, latency_ms = await _send(connection, body, tally)
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

    timer = asyncio.create_task(stopper())
    await asyncio.gather(*(client_loop(i) for i in range(concurrency)))
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

    # Idle keep-alive connections; a request takes one or opens a new one,
    # so at most max_in_flight are ever open.
    idle: list[Connection] = []

    async def one(body: bytes) -> None:
        connection = idle.pop() if idle else Connection(url, timeout_s)
        ok, latency_ms = await _send(connection, body, tally)
        done.append((time.perf_counter() - began, latency_ms, ok))
        idle.append(connection)

    for index in range(total):
        delay = began + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(in_flight) >= max_in_flight:
            skipped += 1
            continue
        task = asyncio.create_task(one(bodies[index % len(bodies)]))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    if in_flight:
        await asyncio.gather(*in_flight)
    for connection in idle:
        connection.close()
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
    """p50/p95/p99/p99.9, mean and max of latencies in ms (``None`` when empty)."""
    keys = ("p50_ms", "p95_ms", "p99_ms", "p999_ms", "mean_ms", "max_ms")
    if not latencies_ms:
        return dict.fromkeys(keys)
    values = [
        percentile(latencies_ms, 50),
        percentile(latencies_ms, 95),
        percentile(latencies_ms, 99),
        percentile(latencies_ms, 99.9),
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
