"""The serving benchmark's load generator: hey's output read back, and hey runs.

The runs go to a small HTTP server in a thread, with a handful of requests.
hey must be installed (``make test`` installs Debian's package): these tests
fail, not skip, without it.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from benchmarks.loadgen import Answer

from benchmarks import loadgen, machine, servers

HEADER = (
    "response-time,DNS+dialup,DNS,Request-write,Response-delay,Response-read,"
    "status-code,offset"
)
HEY_CSV = f"""{HEADER}
0.0046,0.0004,0.0000,0.0001,0.0035,0.0005,200,0.0008
0.0063,0.0002,0.0000,0.0000,0.0059,0.0001,503,0.0012
0.0037,0.0018,0.0000,0.0001,0.0015,0.0002,200,0.1055
"""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as hey uses it
    disable_nagle_algorithm = True  # headers and body are written apart

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = 500 if self.path == "/fail" else 200
        answer = json.dumps({"echo": json.loads(body)}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def body(tmp_path: Path) -> Path:
    path = tmp_path / "body.json"
    path.write_text('{"accounts": [{"account_id": "A1"}]}')
    return path


def test_hey_is_installed() -> None:
    # Fails with "hey is not installed: run `make loadgen` (`make test` ...)".
    assert Path(loadgen.hey_binary()).name == "hey"


def test_a_missing_tool_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setattr(machine.shutil, "which", lambda name: None)
    monkeypatch.setattr(machine.os, "access", lambda path, mode: False)
    with pytest.raises(machine.ToolMissingError, match="make test"):
        loadgen.hey_binary()


def test_csv_is_read_per_answered_request() -> None:
    answers = loadgen.parse_csv(HEY_CSV)
    assert answers[0] == Answer(latency_ms=4.6, status=200, offset_s=0.0008)
    assert [a.status for a in answers] == [200, 503, 200]
    assert loadgen.parse_csv(HEADER) == []


def test_text_that_is_not_heys_csv_is_refused() -> None:
    with pytest.raises(ValueError, match="Not hey's CSV"):
        loadgen.parse_csv("Summary:\n  Total: 1.0 secs\n")


def test_percentile_matches_numpy() -> None:
    values = [12.0, 3.0, 7.5, 1.0, 40.0, 9.0, 2.5]
    for q in (0, 1, 25, 50, 95, 99, 99.9, 100):
        assert loadgen.percentile(values, q) == pytest.approx(np.percentile(values, q))
    with pytest.raises(ValueError, match="No values"):
        loadgen.percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        loadgen.percentile([1.0], 101)


def test_summary_counts_non_2xx_and_unanswered_requests_as_errors() -> None:
    summary = loadgen.summarise(loadgen.parse_csv(HEY_CSV), sent=5)
    assert summary["requests"] == 3
    assert summary["errors"] == 3  # one 503, two sent and never answered
    assert summary["statuses"] == {"200": 2, "503": 1, "transport_error": 2}
    # First start 0.0008 s, last answer 0.1055 + 0.0037 s.
    assert summary["duration_s"] == pytest.approx(0.11, abs=0.01)
    assert summary["requests_per_s"] == pytest.approx(3 / 0.1084, rel=1e-3)
    assert summary["p50_ms"] == 4.6
    assert summary["max_ms"] == 6.3


def test_summary_of_nothing_answered() -> None:
    summary = loadgen.summarise([], sent=4)
    assert summary["p99_ms"] is None
    assert summary["requests_per_s"] is None
    assert summary["errors"] == 4


@pytest.mark.parametrize(
    ("rate", "duration", "concurrency", "cap", "expected"),
    [
        (100.0, 15.0, 8, 10**6, 1496),  # 1500 rounded down to a multiple of 8
        (100.0, 15.0, 1, 1000, 1000),  # capped
        (0.1, 15.0, 8, 10**6, 8),  # at least one per worker
    ],
)
def test_measured_runs_send_a_multiple_of_the_concurrency(
    rate, duration, concurrency, cap, expected
) -> None:
    assert loadgen.requests_for(rate, duration, concurrency, cap) == expected


def test_command_posts_the_body_file_as_json(body: Path) -> None:
    command = loadgen.hey_command(
        "http://h/p", body, concurrency=4, requests=40, rate_per_worker=2.5
    )
    assert command[-1] == "http://h/p"
    joined = " ".join(command[1:])
    for part in ("-c 4", "-m POST", "-T application/json", f"-D {body}", "-o csv"):
        assert part in joined
    assert "-n 40" in joined
    assert "-q 2.5" in joined
    timed = loadgen.hey_command("http://h/p", body, concurrency=1, duration_s=1.5)
    assert "-z 1.5s" in " ".join(timed)
    with pytest.raises(ValueError, match="either"):
        loadgen.hey_command("http://h/p", body, concurrency=1)


def test_closed_loop_against_a_local_server(url: str, body: Path) -> None:
    run = loadgen.closed_loop(
        url + "/predict",
        body,
        concurrency=2,
        duration_s=0.2,
        warmup_s=0.2,
        max_requests=200,
    )
    assert run["errors"] == 0
    assert run["requests"] % 2 == 0
    assert run["statuses"] == {"200": run["requests"]}
    assert run["warmup_requests"] > 0
    # Runs until 80 % of the duration is measured, or 200 requests are sent.
    assert run["duration_s"] >= 0.16 or run["requests"] >= 200
    assert 0 < run["p50_ms"] <= run["p99_ms"] <= run["max_ms"]


def test_alternating_runs_take_turns_and_are_summarised_apart(
    url: str, body: Path
) -> None:
    runs = {
        "ok": (url + "/predict", body, 2),
        "failing": (url + "/fail", body, 1),
    }
    measured = loadgen.alternating(
        runs, rounds=2, duration_s=0.2, warmup_s=0.1, max_requests=100
    )
    assert measured["ok"]["errors"] == 0
    assert measured["ok"]["hey_runs"] >= 2  # at least one per round
    assert measured["failing"]["statuses"] == {"500": measured["failing"]["requests"]}
    assert measured["failing"]["requests"] <= 100


def test_error_answers_and_refused_connections_are_counted(
    url: str, body: Path
) -> None:
    command = loadgen.hey_command(url + "/fail", body, concurrency=2, requests=6)
    assert loadgen.summarise(loadgen.run_hey(command), sent=6)["statuses"] == {"500": 6}
    nowhere = f"http://127.0.0.1:{servers.free_port()}/predict"
    command = loadgen.hey_command(nowhere, body, concurrency=2, requests=4)
    summary = loadgen.summarise(loadgen.run_hey(command), sent=4)
    assert summary["errors"] == 4
    assert summary["statuses"] == {"transport_error": 4}


def test_paced_run_samples_while_it_runs(url: str, body: Path) -> None:
    calls = []

    def sample() -> dict[str, int]:
        calls.append(1)
        return {"n": len(calls)}

    soak = loadgen.paced(
        url + "/predict",
        body,
        rate_per_s=40,
        duration_s=0.5,
        sample=sample,
        samples=2,
        workers=2,
    )
    assert soak["sent"] == 20
    assert soak["requests"] == 20
    assert soak["errors"] == 0
    assert soak["samples"][0] == {"t_s": 0.0, "n": 1}
    assert len(soak["samples"]) >= 2


def test_a_server_is_started_until_ready_and_its_group_stopped(tmp_path) -> None:
    port = servers.free_port()
    command = [sys.executable, "-m", "http.server", str(port), "-b", "127.0.0.1"]
    with servers.running_server(
        command,
        port=port,
        ready_path="/",
        env={"PATH": "/usr/bin"},
        log=tmp_path / "server.log",
        cwd=tmp_path,
        startup_timeout_s=20,
    ) as server:
        assert server.url == f"http://127.0.0.1:{port}"
        assert machine.tree_memory_mb(server.process.pid)["rss_mb"] > 0
        assert machine.tree_cpu_s(server.process.pid) >= 0
    assert server.process.poll() is not None


def test_a_server_that_exits_early_is_reported_with_its_log(tmp_path) -> None:
    command = [sys.executable, "-c", "print('no model here'); raise SystemExit(3)"]
    with (
        pytest.raises(RuntimeError, match="no model here"),
        servers.running_server(
            command,
            port=servers.free_port(),
            ready_path="/",
            env={},
            log=tmp_path / "server.log",
            cwd=tmp_path,
            startup_timeout_s=20,
        ),
    ):
        pass
