"""One whole ``kedro run`` at a given size: a private project copy, its data, the run.

The copy holds the project's code and configuration without data, MLflow store
or environments (each run gets a fresh ``mlflow.db``); the demo tables are
generated once per size by the chunked generator's CLI and hard-linked into
the copy's ``data/01_raw``. The run is a child process in its own session:
its wall time, the peak RSS the kernel reports for it (``wait4``, what
``/usr/bin/time -v`` shows) and the summed RSS of its process tree sampled
every :data:`TREE_SAMPLE_S` (a Spark JVM is a child).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from benchmarks.machine import tree_memory_mb

logger = logging.getLogger("benchmarks.scale")

TREE_SAMPLE_S = 0.5
CHUNK_ACCOUNTS = 50_000
DEMO_PARAMETERS = Path("conf/base/parameters_demo_data.yml")
# Top-level entries of the project a run does not need (or must not share).
SKIP_TOP = {
    ".git",
    ".venv",
    ".tools",
    "mlflow.db",
    "mlruns",
    "mlartifacts",
    ".kedro_run.lock",
    "build",
    ".pytest_cache",
    ".ruff_cache",
}
LOG_TAIL_LINES = 30


def copy_project(source: Path, destination: Path) -> Path:
    """Copy the project's code and configuration, no data, into ``destination``.

    ``data/`` keeps its folders and ``.gitkeep`` files only; ``benchmarks/data``
    (cached demo tables) is left out, and so is ``destination`` when it lies
    inside the project (a ``--work-dir`` under ``data/``), which would otherwise
    be copied into itself.
    """
    source = source.resolve()
    target = destination.resolve()

    def skip(directory: str, names: list[str]) -> set[str]:
        here = Path(directory).resolve()
        itself = {name for name in names if here / name == target}
        return itself | _skipped(here, names)

    def _skipped(here: Path, names: list[str]) -> set[str]:
        if here == source:
            return {name for name in names if name in SKIP_TOP}
        if here == source / "benchmarks":
            return {"data"} & set(names)
        if source / "data" in here.parents or here == source / "data":
            return {n for n in names if (here / n).is_file() and n != ".gitkeep"}
        return {"__pycache__"} & set(names)

    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(source, destination, ignore=skip, symlinks=True)
    return destination


def demo_settings(project: Path, n_accounts: int) -> dict[str, Any]:
    """The demo generator's settings: the project's demo parameters at this size."""
    parameters = yaml.safe_load((project / DEMO_PARAMETERS).read_text())["demo_data"]
    return {
        **parameters,
        "n_accounts": n_accounts,
        "chunk_accounts": CHUNK_ACCOUNTS,
    }


def ensure_data(
    settings: Mapping[str, Any], cache: Path, timeout_s: float
) -> dict[str, Any]:
    """Generate the demo tables into ``cache`` unless they are there already.

    Returns:
        How long generation took (``{}`` when the cached tables were reused).

    Raises:
        RuntimeError: If the generator fails (its last output lines quoted).
    """
    stored = cache / "config.json"
    timing = cache / "generation.json"
    if stored.exists() and json.loads(stored.read_text()) == dict(settings):
        logger.info("Reusing the demo data in %s", cache)
        return json.loads(timing.read_text()) if timing.exists() else {}
    stored.unlink(missing_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in settings.items()]
    command = [sys.executable, "-m", "churn_pipeline.demo_data", *flags]
    command += [f"--output-dir={cache}", "--log-level=WARNING"]
    logger.info("Generating %s accounts into %s", settings["n_accounts"], cache)
    measured = run_measured(
        command, cwd=cache, log=cache / "generation.log", timeout_s=timeout_s
    )
    if measured["returncode"] != 0:
        raise RuntimeError(
            f"demo data generation for {settings['n_accounts']} accounts failed "
            f"({measured['outcome']}): {' | '.join(measured['log_tail'][-5:])}"
        )
    generation = {k: measured[k] for k in ("wall_s", "peak_rss_mb")}
    timing.write_text(json.dumps(generation, indent=2) + "\n")
    stored.write_text(json.dumps(dict(settings), indent=2) + "\n")
    return generation


def link_tables(cache: Path, raw: Path) -> dict[str, int]:
    """Hard-link (or copy) the cached tables into ``raw``; rows per table."""
    raw.mkdir(parents=True, exist_ok=True)
    rows = {}
    for table in sorted(cache.glob("*.parquet")):
        target = raw / table.name
        target.unlink(missing_ok=True)
        try:
            os.link(table, target)
        except OSError:  # another file system
            shutil.copy2(table, target)
        rows[table.stem] = pq.ParquetFile(target).metadata.num_rows
    return rows


class _TreeSampler(threading.Thread):
    """Peak summed RSS of a process tree; kills its session past a deadline."""

    def __init__(self, pid: int, timeout_s: float) -> None:
        super().__init__(name="scale-tree-sampler", daemon=True)
        self.pid = pid
        self.deadline = time.monotonic() + timeout_s
        self.peak_mb = 0.0
        self.timed_out = False
        self.finished = threading.Event()

    def run(self) -> None:
        import psutil  # noqa: PLC0415 (bentoml's dependency, as in machine.py)

        while not self.finished.wait(TREE_SAMPLE_S):
            with contextlib.suppress(psutil.Error):
                self.peak_mb = max(self.peak_mb, tree_memory_mb(self.pid)["rss_mb"])
            if time.monotonic() > self.deadline and not self.timed_out:
                self.timed_out = True
                # Our own child's session (start_new_session): only what we ran.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)


def run_measured(
    command: Sequence[str],
    *,
    cwd: Path,
    log: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``command`` to its end; its wall time, exit and peak memory.

    Returns:
        ``returncode``, ``outcome`` (``completed``, ``failed``, ``killed by
        signal N``, ``timed out``), ``wall_s``, ``peak_rss_mb`` (the larger of
        the kernel's peak for the process and its waited-for children, and the
        tree's sampled sum), both of those separately, and the log's last lines.
    """
    began = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        sampler = _TreeSampler(process.pid, timeout_s)
        sampler.start()
        try:
            # wait4, not Popen.wait: it returns this child's own resource usage.
            _, status, usage = os.wait4(process.pid, 0)
        except KeyboardInterrupt:
            # Its own session does not get the terminal's Ctrl-C: stop it too.
            os.killpg(process.pid, signal.SIGKILL)
            os.waitpid(process.pid, 0)
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.finished.set()
        sampler.join()
    wall = time.perf_counter() - began
    code = process.returncode
    kernel_peak = usage.ru_maxrss / 1024  # KB on Linux
    if sampler.timed_out:
        outcome = "timed out"
    elif code < 0:
        outcome = f"killed by signal {-code}"
        if -code == signal.SIGKILL:
            outcome += " (out of memory?)"
    else:
        outcome = "completed" if code == 0 else "failed"
    lines = log.read_text(errors="replace").splitlines()
    return {
        "returncode": code,
        "outcome": outcome,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(max(kernel_peak, sampler.peak_mb), 1),
        "kernel_peak_rss_mb": round(kernel_peak, 1),
        "tree_peak_rss_mb_sampled": round(sampler.peak_mb, 1),
        "log_tail": lines[-LOG_TAIL_LINES:],
    }
