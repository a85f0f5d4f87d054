"""Servers under test: started on a free port, ready, their process group stopped.

The champion's servers (BentoML, MLflow) started from the project, and a
throwaway Redis server filled as the daily job fills the online store.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from benchmarks import log_progress
from benchmarks.machine import PROJECT, tool
from benchmarks.serving_inputs import DEFAULT_TRACKING_URI
from churn_pipeline.serving.runtime import WORKERS_ENV

logger = logging.getLogger("benchmarks.servers")
REDIS = "redis-server"
PORT_ATTEMPTS = 3


# -- servers under test -----------------------------------------------------------


def prepare_serving_run(workers: int | None) -> None:
    """Set up a serving benchmark's process before it starts any server.

    Progress logged (httpx's line per request is not), MLflow reading the
    project's store unless ``MLFLOW_TRACKING_URI`` says otherwise, and
    ``CHURN_WORKERS`` set to ``workers`` when given: the servers inherit both.
    """
    log_progress()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)
    if workers:
        os.environ[WORKERS_ENV] = str(workers)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    """A started server: base URL, process (group leader) and start-up seconds."""

    url: str
    process: subprocess.Popen[bytes]
    startup_s: float


@contextlib.contextmanager
def running_server(
    command: Sequence[str],
    *,
    port: int,
    ready_path: str,
    env: Mapping[str, str],
    log: Path,
    cwd: Path,
    startup_timeout_s: float,
) -> Iterator[Server]:
    """Start ``command`` (serving on ``port``), wait for ``ready_path`` to answer 200.

    Stops the whole process group on exit (servers fork their workers).

    Raises:
        RuntimeError: If the server exits or is not ready in time (with its log).
    """
    with log.open("wb") as output:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    began = time.perf_counter()
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{command[0]} exited with {process.returncode} before it was "
                    f"ready:\n{log.read_text(errors='replace')[-4000:]}"
                )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + ready_path, timeout=2).status_code == 200:
                    break
            if time.perf_counter() - began > startup_timeout_s:
                raise RuntimeError(
                    f"Not ready in {startup_timeout_s:.0f} s:\n"
                    f"{log.read_text(errors='replace')[-4000:]}"
                )
            time.sleep(0.5)
        yield Server(url, process, time.perf_counter() - began)
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[Any], timeout_s: float = 30) -> None:
    """SIGTERM ``process``'s group, SIGKILL it if it is still there after a while."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def redis_server(startup_timeout_s: float = 15.0) -> Iterator[str]:
    """A Redis server on a free 127.0.0.1 port, no persistence.

    Yields:
        Feast's connection string for it, ``"127.0.0.1:<port>"``.

    Raises:
        ToolMissingError: If Debian's redis-server is not installed.
        RuntimeError: If it does not answer PING in time.
    """
    import redis  # noqa: PLC0415 (Feast's dependency; only this needs it)

    binary = tool(REDIS, "run `make redis` (`make bench-serving` installs it)")
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as directory:
        port = free_port()
        log = Path(directory) / "redis.log"
        command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", ""]
        command += ["--appendonly", "no", "--dir", directory, "--logfile", str(log)]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5)
        try:
            deadline = time.monotonic() + startup_timeout_s
            while True:
                with contextlib.suppress(redis.ConnectionError):
                    if client.ping():
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    text = log.read_text() if log.exists() else "(no log)"
                    raise RuntimeError(f"redis-server did not start:\n{text[-2000:]}")
                time.sleep(0.05)
            yield f"127.0.0.1:{port}"
        finally:
            client.close()
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- the champion's servers and their online stores ----------------------------

SERVICES = {
    "bentoml": "serving.service:ChurnService",
    "bentoml_redis": "serving.service:ChurnService",
    "bentoml_noop": "benchmarks.noop_service:NoopService",
}


def server_command(system: str, model_uri: str, port: int, workers: int) -> list[str]:
    """The command serving ``model_uri`` with ``system`` on 127.0.0.1:``port``.

    BentoML takes its worker count from ``CHURN_WORKERS``, MLflow from here.
    """
    bin_dir = Path(sys.executable).parent
    if system == "mlflow":
        return [
            *(str(bin_dir / "mlflow"), "models", "serve", "-m", model_uri),
            *("--env-manager", "local", "--workers", str(workers)),
            *("-h", "127.0.0.1", "-p", str(port)),
        ]
    return [
        *(str(bin_dir / "bentoml"), "serve", SERVICES[system]),
        *("--host", "127.0.0.1", "--port", str(port)),
    ]


@contextlib.contextmanager
def serve(
    system: str,
    model_uri: str,
    *,
    scratch: Path,
    extra_env: Mapping[str, str],
    workers: int = 1,
    startup_timeout_s: float = 240.0,
    label: str | None = None,
    service: str | None = None,
) -> Iterator[Server]:
    """``system`` serving ``model_uri`` from the project, ready, ``extra_env`` set.

    ``workers`` is MLflow's process count (BentoML reads ``CHURN_WORKERS``);
    ``service`` (``module:Class``) replaces a BentoML system's service.
    The server's log and prediction log go to ``scratch``.
    """
    label = label or system
    env = {
        **os.environ,
        "CHURN_MODEL_URI": model_uri,
        # mlflow models serve starts `uvicorn` from PATH: this venv's.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",  # the project's own models
        # Predictions logged as by default, but not into the project's data.
        "CHURN_PREDICTION_LOG_DIR": str(scratch / f"{label}_predictions"),
        **extra_env,
    }
    env.pop("CHURN_API_KEY", None)  # measure the open endpoint
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = free_port()
        logger.info("Starting %s on port %d", label, port)
        command = server_command(system, model_uri, port, workers)
        if service is not None:
            command[2] = service  # bentoml serve <service> ...
        starting = running_server(
            command,
            port=port,
            ready_path="/ping" if system == "mlflow" else "/readyz",
            env=env,
            log=scratch / f"{label}.log",
            cwd=PROJECT,
            startup_timeout_s=startup_timeout_s,
        )
        try:
            server = starting.__enter__()
            break
        except RuntimeError as error:
            # Another process took a port (ours or the supervisor's) meanwhile.
            if "Address already in use" not in str(error) or attempt == PORT_ATTEMPTS:
                raise
            logger.warning("%s: a port was taken meanwhile; starting again", label)
    try:
        logger.info("%s ready in %.1f s", label, server.startup_s)
        yield server
    finally:
        starting.__exit__(None, None, None)


@contextlib.contextmanager
def online_store(
    system: str, scratch: Path, *, repo: Path, features: Path
) -> Iterator[tuple[dict[str, str], Any]]:
    """The server environment and store settings of ``system`` (``None``: none).

    ``bentoml`` reads the SQLite store of the feature repository ``repo``;
    ``bentoml_redis`` a Redis server started (and stopped) here and filled with
    ``features`` by :func:`fill_redis`.
    """
    from churn_pipeline.feature_store import OnlineStoreSettings  # noqa: PLC0415

    if system == "bentoml":
        env = {"CHURN_FEATURE_REPO": str(repo), "CHURN_ONLINE_STORE": "sqlite"}
        yield env, OnlineStoreSettings.from_environ(env, repo)
    elif system == "bentoml_redis":
        with redis_server() as connection:
            settings = fill_redis(scratch / "redis_repo", connection, features)
            env = {
                "CHURN_FEATURE_REPO": settings.repo_path,
                "CHURN_ONLINE_STORE": "redis",
                "CHURN_REDIS_URL": connection,
            }
            yield env, settings
    else:
        yield {}, None


def fill_redis(repo: Path, connection: str, features: Path) -> Any:
    """Write ``features`` to Redis through Feast as the daily job does; settings."""
    import pandas as pd  # noqa: PLC0415

    from churn_pipeline.feature_store import (  # noqa: PLC0415
        OnlineStoreSettings,
        write_feature_repo,
        write_online,
    )
    from churn_pipeline.features import FEATURES_BY_NAME  # noqa: PLC0415

    settings = OnlineStoreSettings(
        kind="redis", repo_path=str(repo), redis_connection_string=connection
    )
    frame = pd.read_parquet(features)
    names = [c for c in frame.columns if c in FEATURES_BY_NAME]
    kinds = {
        "numeric": [c for c in names if FEATURES_BY_NAME[c].kind == "numeric"],
        "categorical": [c for c in names if FEATURES_BY_NAME[c].kind != "numeric"],
    }
    write_feature_repo(settings, **kinds, offline_source=features)
    write_online(settings, frame, **kinds)
    return settings
