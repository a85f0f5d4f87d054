"""The load generator's HTTP client and loops, against a real local HTTP server."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks import loadgen


class _Handler(BaseHTTPRequestHandler):
    """Answers by path: ``/ok``, ``/chunked``, ``/close``, ``/error``, ``/garbage``.

    ``/idle-close`` answers as if keeping the connection, then closes it: what a
    server does to a keep-alive connection left idle past its timeout.
    """

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server: _Server = self.server  # type: ignore[assignment]
        with server.lock:
            server.bodies.append(body)
            server.connections.add(self.client_address)
        answer = json.dumps({"received": len(body)}).encode()
        if self.path == "/garbage":
            self.wfile.write(b"not http at all\r\n\r\n")
            self.close_connection = True
            return
        status = 500 if self.path == "/error" else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if self.path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(answer), 4):
                piece = answer[start : start + 4]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path == "/close":
            self.send_header("Connection", "close")
        self.close_connection = self.path == "/idle-close"
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.bodies: list[bytes] = []
        self.connections: set[tuple[str, int]] = set()


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def _url(server: _Server, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


@pytest.mark.parametrize("path", ["/ok", "/chunked", "/close"])
def test_connection_reads_every_answer_shape(server: _Server, path: str) -> None:
    async def three_posts() -> list[tuple[int, bytes]]:
        connection = loadgen.Connection(_url(server, path), timeout_s=5)
        try:
            return [await connection.post(b"x" * n) for n in (1, 10, 1000)]
        finally:
            connection.close()

    answers = asyncio.run(three_posts())
    assert [status for status, _ in answers] == [200, 200, 200]
    assert [json.loads(body)["received"] for _, body in answers] == [1, 10, 1000]
    assert server.bodies == [b"x", b"x" * 10, b"x" * 1000]
    # Keep-alive reuses one connection; "Connection: close" forces new ones.
    assert len(server.connections) == (3 if path == "/close" else 1)


def test_a_connection_the_server_closed_while_idle_is_replaced(
    server: _Server,
) -> None:
    async def twice() -> tuple[int, int]:
        connection = loadgen.Connection(_url(server, "/idle-close"), timeout_s=5)
        first, _ = await connection.post(b"{}")
        await asyncio.sleep(0.2)  # the server's close reaches the client
        second, _ = await connection.post(b"{}")
        connection.close()
        return first, second

    assert asyncio.run(twice()) == (200, 200)
    assert len(server.connections) == 2


def test_connection_refuses_non_http_urls() -> None:
    with pytest.raises(ValueError, match="http:// URL"):
        loadgen.Connection("https://127.0.0.1:1/predict", timeout_s=1)


def test_closed_loop_counts_requests_and_keeps_connections(server: _Server) -> None:
    bodies = [b'{"a": 1}', b'{"b": 2}']
    run = loadgen.closed_loop(
        _url(server, "/ok"),
        bodies,
        concurrency=3,
        duration_s=0.3,
        warmup_s=0.05,
        max_requests=10_000,
    )
    assert run["errors"] == 0
    assert run["requests"] == len(run["latencies_ms"]) > 0
    assert all(latency > 0 for latency in run["latencies_ms"])
    sent = run["requests"] + run["warmup_requests"] + run["drained_requests"]
    assert len(server.bodies) == sent
    assert set(server.bodies) == set(bodies)
    assert len(server.connections) == 3


def test_closed_loop_stops_at_max_requests(server: _Server) -> None:
    run = loadgen.closed_loop(
        _url(server, "/ok"),
        [b"{}"],
        concurrency=2,
        duration_s=30.0,
        warmup_s=0.0,
        max_requests=25,
    )
    assert run["requests"] == 25
    assert run["window_s"] < 30.0


@pytest.mark.parametrize(
    ("path", "status_key", "sample"),
    [("/error", "500", "500: {"), ("/garbage", "transport_error", "None: HTTP")],
)
def test_failures_are_counted_not_raised(
    server: _Server, path: str, status_key: str, sample: str
) -> None:
    run = loadgen.closed_loop(
        _url(server, path),
        [b"{}"],
        concurrency=2,
        duration_s=0.2,
        warmup_s=0.0,
        max_requests=50,
    )
    total = run["requests"] + run["warmup_requests"] + run["drained_requests"]
    assert run["errors"] == total > 0
    assert run["statuses"] == {status_key: total}
    assert run["error_samples"][0].startswith(sample)


def test_transport_error_when_nothing_listens() -> None:
    with _Server() as idle:
        url = _url(idle, "/ok")  # bound, then closed below: nothing accepts
    run = loadgen.open_loop(url, [b"{}"], rate=50, duration_s=0.1, max_in_flight=2)
    assert run["errors"] == run["requests"] == run["offered"] == 5
    assert run["statuses"] == {"transport_error": 5}


def test_open_loop_sends_at_the_rate_within_the_in_flight_bound(
    server: _Server,
) -> None:
    run = loadgen.open_loop(
        _url(server, "/ok"), [b"{}"], rate=200, duration_s=0.5, max_in_flight=4
    )
    assert run["offered"] == 100
    assert run["requests"] + run["skipped"] == 100
    assert run["errors"] == 0
    assert len(server.bodies) == run["requests"]
    # Idle connections are reused: never more open than may be in flight.
    assert len(server.connections) <= 4
