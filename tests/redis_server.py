"""A throwaway Redis server (Debian's ``redis-server``, installed by `make test`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

READY_SECONDS = 15.0
STOP_SECONDS = 5.0
_ATTEMPTS = 3


class RedisServerError(RuntimeError):
    """redis-server is missing or did not start."""


def redis_binary() -> str:
    """The ``redis-server`` executable.

    Raises:
        RedisServerError: When it is not installed.
    """
    found = shutil.which("redis-server")
    if found is None and os.access("/usr/bin/redis-server", os.X_OK):
        found = "/usr/bin/redis-server"
    if found is None:
        raise RedisServerError(
            "redis-server is not installed: run `make test`, which installs "
            "Debian's redis-server package"
        )
    return found


@contextmanager
def redis_server() -> Iterator[str]:
    """Run a Redis server on a free 127.0.0.1 port without persistence.

    Yields:
        Feast's connection string for it, ``"127.0.0.1:<port>"``.

    Raises:
        RedisServerError: When redis-server is missing or does not answer PING.
    """
    binary = redis_binary()
    with tempfile.TemporaryDirectory(prefix="redis-test-") as directory:
        process, port = _start(binary, Path(directory))
        try:
            yield f"127.0.0.1:{port}"
        finally:
            _stop(process)


def _start(binary: str, directory: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start redis-server, retrying on another port if the chosen one was taken."""
    failures = []
    for attempt in range(_ATTEMPTS):
        port = _free_port()
        log = directory / f"redis-{attempt}.log"
        command = [
            binary,
            *("--bind", "127.0.0.1", "--port", str(port)),
            *("--save", "", "--appendonly", "no", "--dir", str(directory)),
            *("--logfile", str(log), "--daemonize", "no"),
        ]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        if _wait_ready(process, port):
            return process, port
        _stop(process)
        text = log.read_text(errors="replace") if log.exists() else "(no log)"
        failures.append(f"port {port}:\n{text[-2000:]}")
    raise RedisServerError("redis-server did not answer PING:\n" + "\n".join(failures))


def _wait_ready(process: subprocess.Popen[bytes], port: int) -> bool:
    """Poll PING until it answers, the process exits, or the wait runs out."""
    client = redis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )
    deadline = time.monotonic() + READY_SECONDS
    try:
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return True
            except redis.ConnectionError:
                pass
            try:
                process.wait(timeout=0.05)  # poll interval; returns if it exited
                return False
            except subprocess.TimeoutExpired:
                continue
        return False
    finally:
        client.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server; kill it if it does not exit in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
