"""What a hostile caller tried against the real server, on 127.0.0.1.

Each test is one finding: made-up paths grew ``/metrics`` without bound,
non-JSON bodies got 500, a 400 logged the request's values with an ERROR
traceback, redirects carried the caller's ``Host``, unknown top-level keys were
accepted, half-sent request heads (or bodies trickled after an early answer)
held connections open, and a killed worker left requests hanging until its
replacement had loaded the model.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
from tests.e2e.servers import running_server

from churn_pipeline.serving.metadata import example_request

pytestmark = [pytest.mark.e2e, pytest.mark.serving]

HEADER_TIMEOUT_S = 1
DEADLINE_S = 60.0  # generous bound for anything the server must do "soon"
ENDPOINT_LABEL = re.compile(r'endpoint="([^"]*)"')


@dataclass(frozen=True)
class Served:
    """A running server and the file its processes log to."""

    url: str
    log: Path


@pytest.fixture(scope="module")
def served(trained_project, tmp_path_factory) -> Iterator[Served]:
    """The churn service with a short request-head timeout."""
    directory = tmp_path_factory.mktemp("bentoml_hardening")
    log = directory / "server.log"
    with running_server(
        trained_project,
        log,
        directory / "home",
        CHURN_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S),
    ) as url:
        yield Served(url, log)


def _endpoint_labels(url: str) -> tuple[set[str], int]:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return set(ENDPOINT_LABEL.findall(text)), len(text)


def test_made_up_paths_do_not_grow_metrics(served):
    with httpx.Client(base_url=served.url, timeout=30) as client:
        assert client.get("/made-up-first").status_code == 404
        labels_before, size_before = _endpoint_labels(served.url)
        statuses = {
            client.get(f"/made-up/{uuid.uuid4().hex}").status_code for _ in range(500)
        }
    labels_after, size_after = _endpoint_labels(served.url)

    assert statuses == {404}
    assert labels_after == labels_before
    assert "/__unknown__" in labels_after
    assert not [label for label in labels_after if label.startswith("/made-up")]
    # Only counts change (a few more digits); 500 new paths would add megabytes.
    assert size_after - size_before < 2_000


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"files": {"accounts": ("a.json", b"[]", "application/json")}},
        {
            "content": b"not multipart",
            "headers": {"content-type": "multipart/form-data; boundary=x"},
        },
        {"data": {"accounts": "[]"}},  # application/x-www-form-urlencoded
        {"content": b"{}", "headers": {"content-type": "text/plain"}},
    ],
    ids=["multipart", "broken-multipart", "form", "text"],
)
def test_non_json_bodies_get_415_naming_the_accepted_type(served, request_kwargs):
    response = httpx.post(f"{served.url}/predict", timeout=30, **request_kwargs)

    assert response.status_code == 415, response.text
    assert "application/json" in response.json()["detail"]


def _new_log(log: Path, offset: int, marker: str) -> str:
    """The log written after ``offset``, once ``marker`` appears in it."""
    deadline = time.monotonic() + DEADLINE_S
    while marker not in (text := log.read_text()[offset:]):
        assert time.monotonic() < deadline, f"{marker!r} not logged:\n{text[-3000:]}"
        time.sleep(0.2)
    return text


def test_a_400_logs_one_warning_without_the_values(served):
    body = example_request()
    body["accounts"][0].update(logins_30d=-987654, plan="SECRET-PLAN-VALUE")
    offset = len(served.log.read_text())

    response = httpx.post(f"{served.url}/predict", json=body, timeout=60)
    assert response.status_code == 400, response.text
    logged = _new_log(served.log, offset, "/predict refused (400)")

    lines = [line for line in logged.splitlines() if "refused (400)" in line]
    assert len(lines) == 1, logged
    assert "[WARNING]" in lines[0]
    assert "accounts.0.logins_30d" in lines[0]
    for leaked in ("Traceback", "[ERROR]", "987654", "SECRET-PLAN-VALUE"):
        assert leaked not in logged, logged


def test_a_contradiction_logs_where_it_is_not_the_values(served):
    body = example_request()
    body["accounts"][0].update(logins_14d=987654.0)
    offset = len(served.log.read_text())

    response = httpx.post(f"{served.url}/predict", json=body, timeout=60)
    assert response.status_code == 400, response.text
    # The caller is told its values; the log is not.
    assert "logins_14d (987654) must not exceed logins_30d" in response.text
    logged = _new_log(served.log, offset, "/predict refused (400)")

    [line] = [line for line in logged.splitlines() if "refused (400)" in line]
    assert "accounts.0 (inconsistent_features)" in line
    assert "987654" not in logged and "Traceback" not in logged, logged


@pytest.mark.parametrize("path", ["/metadata/", "/predict/", "/livez/", "/docs/"])
def test_redirects_never_carry_the_callers_host(served, path):
    response = httpx.get(
        f"{served.url}{path}", headers={"Host": "evil.example"}, timeout=30
    )

    location = response.headers.get("location", "")
    assert "evil.example" not in location
    assert not urlsplit(location).netloc
    assert response.status_code in {301, 302, 307, 308, 404}


def test_unknown_top_level_key_gets_400_naming_it(served):
    body = {**example_request(), "acounts": []}

    response = httpx.post(f"{served.url}/predict", json=body, timeout=60)

    assert response.status_code == 400, response.text
    [error] = response.json()["detail"]
    assert (error["type"], error["loc"]) == ("extra_forbidden", ["acounts"])


def _closed_by_server(sock: socket.socket) -> bool:
    """Wait (bounded) for the server to close ``sock``; whether it did."""
    sock.settimeout(DEADLINE_S)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.mark.parametrize(
    "head",
    [b"", b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"POST /predict HTTP/1.1\r"],
    ids=["nothing", "no-blank-line", "half-a-line"],
)
def test_incomplete_request_head_is_closed_by_the_server(served, head):
    host, port = urlsplit(served.url).hostname, urlsplit(served.url).port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(head)
        assert _closed_by_server(sock)


def _trickle_until_closed(sock: socket.socket) -> bool:
    """Send a byte at a time until the server closes ``sock`` (bounded wait)."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        try:
            sock.sendall(b"x")
            if sock.recv(1024) == b"":
                return True
        except TimeoutError:
            continue
        except (BrokenPipeError, ConnectionResetError):
            return True
    return False


def test_body_trickled_after_an_early_answer_is_cut_off(served):
    host, port = urlsplit(served.url).hostname, urlsplit(served.url).port
    head = (
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{"
    )
    with socket.create_connection((host, port), timeout=DEADLINE_S) as sock:
        sock.sendall(head)
        assert sock.recv(4096).startswith(b"HTTP/1.1 413")  # over the body limit
        assert _trickle_until_closed(sock)


def test_complete_requests_on_a_connection_are_still_answered(served):
    with httpx.Client(base_url=served.url, timeout=30) as client:
        assert [client.get("/livez").status_code for _ in range(3)] == [200] * 3


def _command(process: psutil.Process) -> str:
    """``process``'s command line; empty once it died (a zombie until reaped)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def _workers(port: int) -> tuple[psutil.Process, list[psutil.Process]]:
    """The ``bentoml serve`` process listening on ``port`` and its workers."""
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if "serve" in command and command[-2:] == ["--port", str(port)]:
            workers = [
                child
                for child in process.children(recursive=True)
                if "_bentoml_impl.worker.service" in _command(child)
            ]
            return process, workers
    raise AssertionError(f"no bentoml serve process on port {port}")


def test_requests_are_answered_while_a_killed_worker_restarts(
    trained_project, tmp_path
):
    body = example_request()
    seen: set[psutil.Process] = set()  # workers run in sessions of their own
    try:
        with running_server(trained_project, tmp_path / "server.log", tmp_path) as url:
            port = urlsplit(url).port
            arbiter, workers = _workers(port)
            seen.update(workers)
            assert len(workers) == 2  # the default
            killed = workers[0]

            os.kill(killed.pid, signal.SIGKILL)
            answers = [
                httpx.post(f"{url}/predict", json=body, timeout=10).status_code
                for _ in range(20)
            ]

            # Stop only once the supervisor has replaced it: stopping while it
            # restarts a worker can leave workers behind.
            deadline = time.monotonic() + 180
            while not _replaced(port, killed.pid, len(workers), seen):
                assert time.monotonic() < deadline, "the killed worker was not replaced"
                time.sleep(1)
            assert arbiter.is_running()
    finally:
        _stop(seen)

    # Answered (not hung past the client timeout): by the live worker, or 503.
    assert set(answers) <= {200, 503}, answers
    assert 200 in answers


def _replaced(port: int, killed: int, count: int, seen: set[psutil.Process]) -> bool:
    workers = _workers(port)[1]
    seen.update(workers)
    pids = [worker.pid for worker in workers]
    return len(pids) == count and killed not in pids


def _stop(processes: set[psutil.Process]) -> None:
    """End the workers a test saw, should the server have left any behind."""
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=30)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
