"""The serving benchmarks' load: ``hey`` runs, and reading them back.

``hey`` (Debian's package, ``make loadgen``) is compiled, closed-loop, one
keep-alive connection per worker, and uses little CPU per request. It runs
with ``-o csv``, which lists every answered request (total time, status and
start offset, to 0.1 ms) but leaves out requests that got no answer at all
(transport errors): measured runs therefore send a fixed number of requests
(``-n``), and the shortfall is their count.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from benchmarks.machine import tool

HEY = "hey"
HEY_HINT = "run `make loadgen` (`make test` and `make bench-serving` install it)"
REQUEST_TIMEOUT_S = 60


def hey_binary() -> str:
    """The ``hey`` executable.

    Raises:
        ToolMissingError: If hey is not installed.
    """
    return tool(HEY, HEY_HINT)


def hey_version() -> str | None:
    """The installed Debian package's version of hey (hey itself prints none)."""
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", HEY],
            check=False,
            capture_output=True,
            text=True,
        )
    except OSError:  # not a Debian system
        return None
    return (done.stdout.strip() or None) if done.returncode == 0 else None


# -- hey ------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One answered request of a hey run."""

    latency_ms: float
    status: int
    offset_s: float


def hey_command(
    url: str,
    body_file: Path,
    *,
    concurrency: int,
    requests: int | None = None,
    duration_s: float | None = None,
    rate_per_worker: float | None = None,
    timeout_s: int = REQUEST_TIMEOUT_S,
) -> list[str]:
    """``hey`` POSTing ``body_file`` as JSON: ``requests`` of them or for a time.

    Raises:
        ValueError: Unless exactly one of ``requests`` and ``duration_s`` is given.
    """
    if (requests is None) == (duration_s is None):
        raise ValueError("Give either requests or duration_s")
    command = [hey_binary(), "-c", str(concurrency), "-m", "POST"]
    command += ["-T", "application/json", "-D", str(body_file), "-o", "csv"]
    command += ["-t", str(timeout_s)]
    if requests is not None:
        command += ["-n", str(requests)]
    else:
        command += ["-z", f"{duration_s:g}s"]
    if rate_per_worker:
        command += ["-q", f"{rate_per_worker:g}"]
    return [*command, url]


def parse_csv(text: str) -> list[Answer]:
    """The answered requests of hey's ``-o csv`` output.

    Raises:
        ValueError: If the text is not hey's CSV.
    """
    rows = csv.DictReader(io.StringIO(text.strip()))
    if rows.fieldnames is None or "response-time" not in rows.fieldnames:
        raise ValueError(f"Not hey's CSV output: {text[:200]!r}")
    return [
        Answer(
            latency_ms=round(float(row["response-time"]) * 1000.0, 1),
            status=int(row["status-code"]),
            offset_s=float(row["offset"]),
        )
        for row in rows
    ]


@contextlib.contextmanager
def hey(command: Sequence[str]) -> Iterator[HeyRun]:
    """Start ``command`` (see :func:`hey_command`); its answers once it is done.

    The ``with`` body runs while hey does (the soak samples the server's memory
    there); leaving it waits for hey to finish, or kills hey on an exception.

    Raises:
        RuntimeError: If hey fails.
    """
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.PIPE,
            text=True,
        )
        run = HeyRun(process)
        try:
            yield run
        except BaseException:
            process.kill()
            process.communicate()
            raise
        _, stderr = process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"hey failed ({process.returncode}): {stderr[-2000:]}")
        output.seek(0)
        run.answers = parse_csv(output.read())


@dataclass
class HeyRun:
    """A running hey process; its answers once it is done."""

    process: subprocess.Popen[str]
    answers: list[Answer] | None = None

    def running(self, wait_s: float) -> bool:
        """Whether hey still runs after waiting up to ``wait_s`` for it."""
        try:
            self.process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            return True
        return False


def run_hey(command: Sequence[str]) -> list[Answer]:
    """Run ``command`` to the end and read its answers."""
    with hey(command) as run:
        pass
    assert run.answers is not None
    return run.answers


@dataclass
class Measured:
    """One body's measured hey runs, their answers laid end to end in time."""

    answers: list[Answer] = field(default_factory=list)
    sent: int = 0
    window_s: float = 0.0
    warmup_requests: int = 0
    hey_runs: int = 0

    def summary(self) -> dict[str, Any]:
        """:func:`summarise` of all answers, with warm-up requests and hey runs."""
        return {
            **summarise(self.answers, sent=self.sent),
            "warmup_requests": self.warmup_requests,
            "hey_runs": self.hey_runs,
        }


def closed_loop(
    url: str,
    body_file: Path,
    *,
    concurrency: int,
    duration_s: float,
    warmup_s: float,
    max_requests: int = 100_000,
    into: Measured | None = None,
) -> dict[str, Any]:
    """A warm-up for ``warmup_s``, then about ``duration_s`` of measured load.

    Measured runs send a fixed number of requests, so that the unanswered ones
    can be counted: the last throughput seen times the seconds still to go (a
    multiple of ``concurrency``), again until 80 % of ``duration_s`` is
    measured or ``max_requests`` are sent.

    Args:
        into: Earlier runs of the same body to add these to.

    Returns:
        The :meth:`Measured.summary` of these runs (and ``into``'s).
    """
    measured = into if into is not None else Measured()
    warm = run_hey(
        hey_command(url, body_file, concurrency=concurrency, duration_s=warmup_s)
    )
    measured.warmup_requests += len(warm)
    rate = len(warm) / max(window_s(warm), 1e-3)
    began, sent = measured.window_s, 0
    while measured.window_s - began < 0.8 * duration_s and sent < max_requests:
        count = requests_for(
            rate,
            duration_s - (measured.window_s - began),
            concurrency,
            max_requests - sent,
        )
        got = run_hey(
            hey_command(url, body_file, concurrency=concurrency, requests=count)
        )
        sent += count
        measured.sent += count
        measured.hey_runs += 1
        if not got:  # nothing answered: no throughput to go on
            break
        start = min(a.offset_s for a in got) - measured.window_s
        measured.answers += [replace(a, offset_s=a.offset_s - start) for a in got]
        rate = len(got) / max(window_s(got), 1e-3)
        measured.window_s += window_s(got)
    return measured.summary()


def alternating(
    runs: Mapping[str, tuple[str, Path, int]],
    *,
    rounds: int,
    duration_s: float,
    warmup_s: float,
    max_requests: int,
) -> dict[str, dict[str, Any]]:
    """Closed-loop runs of several bodies taking turns, ``duration_s`` each in all.

    Each of ``rounds`` rounds runs every body for ``duration_s / rounds``; the
    order flips every round (A B, B A, A B, ...), so a machine that gets
    busier or quieter meanwhile weighs on each alike. Warm-ups after the
    first round last at most a second.

    Args:
        runs: ``name: (url, body file, concurrency)``.

    Returns:
        ``name:`` the summary of all its rounds, as :func:`closed_loop`'s.
    """
    measured = {name: Measured() for name in runs}
    names = list(runs)
    for index in range(rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            url, body_file, concurrency = runs[name]
            closed_loop(
                url,
                body_file,
                concurrency=concurrency,
                duration_s=duration_s / rounds,
                warmup_s=warmup_s if index == 0 else min(warmup_s, 1.0),
                max_requests=max(1, max_requests // rounds),
                into=measured[name],
            )
    return {name: run.summary() for name, run in measured.items()}


def paced(
    url: str,
    body_file: Path,
    *,
    rate_per_s: float,
    duration_s: float,
    sample: Callable[[], Mapping[str, Any]],
    samples: int = 10,
    workers: int = 4,
) -> dict[str, Any]:
    """``rate_per_s`` requests a second for ``duration_s``, sampling meanwhile.

    hey paces each of ``workers`` connections at ``rate_per_s / workers``
    (``-q``); one still waiting for an answer sends its next request late.

    Returns:
        :func:`summarise` of the run, the rate, ``sent``, and ``samples``:
        ``sample()`` with its time ``t_s`` at the start, ``samples`` times
        during the run and at the end.
    """
    sent = requests_for(rate_per_s, duration_s, workers, 10**9)
    command = hey_command(
        url,
        body_file,
        concurrency=workers,
        requests=sent,
        rate_per_worker=rate_per_s / workers,
    )
    began = time.perf_counter()

    def taken() -> dict[str, Any]:
        return {"t_s": round(time.perf_counter() - began, 1), **sample()}

    readings = [taken()]
    with hey(command) as run:
        while run.running(max(duration_s / samples, 1.0)):
            readings.append(taken())
    readings.append(taken())
    assert run.answers is not None
    return {
        **summarise(run.answers, sent=sent),
        "rate_per_s": rate_per_s,
        "hey_workers": workers,
        "sent": sent,
        "samples": readings,
    }


def requests_for(
    rate_per_s: float, duration_s: float, concurrency: int, max_requests: int
) -> int:
    """Requests lasting ``duration_s`` at ``rate_per_s``, a multiple of concurrency.

    hey gives each of its ``concurrency`` workers ``n // concurrency`` requests.
    """
    wanted = min(rate_per_s * duration_s, max_requests)
    return max(concurrency, int(wanted // concurrency) * concurrency)


def window_s(answers: Sequence[Answer]) -> float:
    """Seconds from the first request's start to the last answer."""
    if not answers:
        return 0.0
    first = min(a.offset_s for a in answers)
    return max(a.offset_s + a.latency_ms / 1000.0 for a in answers) - first


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile, interpolated linearly (numpy's default).

    Raises:
        ValueError: If ``values`` is empty or ``q`` is outside [0, 100].
    """
    if not values:
        raise ValueError("No values")
    if not 0 <= q <= 100:
        raise ValueError(f"Percentile {q} outside [0, 100]")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarise(answers: Sequence[Answer], *, sent: int | None) -> dict[str, Any]:
    """Latency percentiles (ms), throughput and errors of a run's answers.

    Args:
        answers: The answered requests.
        sent: Requests sent, when known: the ones beyond ``answers`` got no
            answer (transport errors).

    Returns:
        ``p50_ms`` .. ``max_ms``, ``requests`` (answered), ``requests_per_s``,
        ``errors`` (non-2xx plus transport errors), ``statuses`` and
        ``duration_s``.
    """
    latencies = [a.latency_ms for a in answers]
    statuses: dict[str, int] = {}
    for answer in answers:
        statuses[str(answer.status)] = statuses.get(str(answer.status), 0) + 1
    unanswered = max(0, (sent or 0) - len(answers))
    if unanswered:
        statuses["transport_error"] = unanswered
    window = window_s(answers)

    def point(q: float) -> float | None:
        return round(percentile(latencies, q), 3) if latencies else None

    return {
        "p50_ms": point(50),
        "p95_ms": point(95),
        "p99_ms": point(99),
        "p999_ms": point(99.9),
        "max_ms": round(max(latencies), 3) if latencies else None,
        "mean_ms": round(sum(latencies) / len(latencies), 3) if latencies else None,
        "requests": len(answers),
        "requests_per_s": round(len(answers) / window, 2) if window > 0 else None,
        "errors": unanswered + sum(not 200 <= a.status < 300 for a in answers),
        "statuses": statuses,
        "duration_s": round(window, 2),
    }
