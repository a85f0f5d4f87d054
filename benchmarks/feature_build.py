"""The feature benchmark's full build, run in a child process.

``benchmarks.bench_features`` starts ``python -m benchmarks.bench_features
--build`` with :func:`run_child`; the child runs :func:`build_full`: the model
input of the demo tables on DuckDB, accounts split into ranges that worker
processes build one at a time.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import logging
import multiprocessing
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from churn_pipeline.features import engine
from churn_pipeline.features.build import TABLES, Timeline, model_input, timeline

logger = logging.getLogger("benchmarks.features")
ROOT = Path(__file__).resolve().parent
SNAPSHOTS = 12
MIN_HISTORY_DAYS = 90
HORIZON_DAYS = 30
KEY_COLUMNS = [
    "uses_reports",
    "uses_dashboards",
    "uses_integrations",
    "uses_automations",
]
KEYS = ["account_id", "as_of_date"]


def data_paths(directory: Path) -> dict[str, Path]:
    """The Parquet file of each table the build reads."""
    return {name: directory / f"{name}.parquet" for name in TABLES}


# -- the full build (child process) -------------------------------------------


@dataclasses.dataclass(frozen=True)
class BuildSettings:
    """How the full build runs.

    The accounts are split into ``slices`` ranges of ``account_id`` (every
    feature is computed per account; only the as-of dates are global) and
    ``workers`` processes build one range at a time, each with a DuckDB of
    ``threads`` threads and ``memory_limit``. One slice and one worker is the
    plain single query.
    """

    slices: int
    workers: int
    threads: int
    memory_limit: str

    def as_args(self) -> list[str]:
        """The command-line flags that give these settings."""
        return [
            "--slices",
            str(self.slices),
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            "--memory-limit",
            self.memory_limit,
        ]


def _connect(threads: int, memory_limit: str, temp_directory: Path | None = None):
    con = engine.connect("duckdb", {"threads": threads, "memory_limit": memory_limit})
    con.raw_sql("SET preserve_insertion_order = false")
    con.raw_sql("SET enable_progress_bar = false")
    con.raw_sql("SET parquet_metadata_cache = true")
    if temp_directory is not None:
        con.raw_sql(f"SET temp_directory = '{temp_directory}'")
    return con


def _options(observation_end: pd.Timestamp, usage_start: pd.Timestamp | None):
    return {
        "horizon_days": HORIZON_DAYS,
        "observation_end": observation_end,
        "key_columns": KEY_COLUMNS,
        "usage_start": usage_start,
    }


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _slice_bounds(con: Any, accounts: Path, slices: int) -> list[str | None]:
    """Lower ``account_id`` bound of each slice (``None``: no bound)."""
    (count,) = con.raw_sql(
        f"SELECT count(*) FROM read_parquet({_quote(str(accounts))})"
    ).fetchone()
    size = max(1, -(-count // slices))
    starts = con.raw_sql(
        f"SELECT account_id FROM (SELECT account_id, row_number() OVER "
        f"(ORDER BY account_id) - 1 AS position FROM "
        f"read_parquet({_quote(str(accounts))})) "
        f"WHERE position > 0 AND position % {size} = 0 ORDER BY account_id"
    ).fetchall()
    return [None, *(row[0] for row in starts)]


# The worker's connection and the model input view, set by _start_worker.
_WORKER: dict[str, Any] = {}


def _point_views(
    con: Any, paths: Mapping[str, Path], low: str | None, high: str | None
):
    """(Re)define one view per table holding the accounts in ``[low, high)``."""
    conditions = []
    if low is not None:
        conditions.append(f"account_id >= {_quote(low)}")
    if high is not None:
        conditions.append(f"account_id < {_quote(high)}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    for name, path in paths.items():
        con.raw_sql(
            f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "
            f"read_parquet({_quote(str(path))}){where}"
        )


def _start_worker(
    paths: Mapping[str, Path],
    dates: Sequence[str],
    observation_end: str,
    usage_start: str | None,
    threads: int,
    memory_limit: str,
    spill: Path,
) -> None:
    """Build the model input expression once over per-table views."""
    own_spill = spill / str(os.getpid())
    own_spill.mkdir(parents=True, exist_ok=True)
    con = _connect(threads, memory_limit, own_spill)
    _point_views(con, paths, None, None)
    tables = {name: con.table(name) for name in paths}
    expr = model_input(
        tables,
        [pd.Timestamp(d) for d in dates],
        **_options(
            pd.Timestamp(observation_end),
            None if usage_start is None else pd.Timestamp(usage_start),
        ),
    )
    # A view over the table views: compiled once, re-bound to each slice.
    con.create_view("model_input_slice", expr, overwrite=True)
    _WORKER.update(con=con, paths=paths, expr=expr)


def _build_slice(
    low: str | None, high: str | None, output: Path
) -> tuple[int, float, float]:
    """Write one slice's model input.

    Returns:
        The process id, its peak RSS (MB) and the seconds the slice took.
    """
    began = time.perf_counter()
    con = _WORKER["con"]
    _point_views(con, _WORKER["paths"], low, high)
    con.raw_sql(
        f"COPY (SELECT * FROM model_input_slice) TO {_quote(str(output))} "
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    return os.getpid(), own_peak_rss_mb(), time.perf_counter() - began


def build_full(directory: Path, settings: BuildSettings) -> dict[str, Any]:
    """Build the model input from the Parquet files into Parquet files.

    Runs in the child process. The wall time covers placing the as-of dates,
    splitting the accounts, building and compiling the expression, running it
    (reading the Parquet files included) and writing the result.
    """
    paths = data_paths(directory)
    with tempfile.TemporaryDirectory(dir=directory.parent, prefix="features-") as name:
        scratch = Path(name)
        output = scratch / "model_input"
        output.mkdir()
        began = time.perf_counter()
        line, bounds = _plan(paths, settings)
        tasks = [
            (low, high, output / f"part-{k:05d}.parquet")
            for k, (low, high) in enumerate(
                zip(bounds, [*bounds[1:], None], strict=True)
            )
        ]
        start_args = (
            paths,
            [str(d) for d in line.dates],
            str(line.observation_end),
            None if line.usage_start is None else str(line.usage_start),
            settings.threads,
            settings.memory_limit,
            scratch / "spill",
        )
        prepared = time.perf_counter()
        done = _build_slices(tasks, start_args, settings.workers)
        wall = time.perf_counter() - began
        report = {
            "wall_s": wall,
            "prepare_s": prepared - began,
            **_output_facts(output),
            "as_of_dates": [str(d.date()) for d in line.dates],
            **_peaks_and_slice_times(done),
        }
    return report


def _plan(
    paths: Mapping[str, Path], settings: BuildSettings
) -> tuple[Timeline, list[str | None]]:
    """The as-of dates placed in the data and each slice's lower account bound."""
    con = _connect(settings.threads, settings.memory_limit)
    tables = {
        name: con.read_parquet(path, table_name=f"full_{name}")
        for name, path in paths.items()
    }
    line = timeline(
        con,
        tables,
        observation_end=None,
        min_history_days=MIN_HISTORY_DAYS,
        max_snapshots=SNAPSHOTS,
    )
    bounds = _slice_bounds(con, paths["accounts"], settings.slices)
    con.disconnect()
    return line, bounds


def _build_slices(
    tasks: Sequence[tuple[str | None, str | None, Path]],
    start_args: tuple[Any, ...],
    workers: int,
) -> list[tuple[int, float, float]]:
    """:func:`_build_slice` of each task, here or in ``workers`` processes."""
    if workers == 1:
        _start_worker(*start_args)
        return [_build_slice(*task) for task in tasks]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=start_args,
    ) as pool:
        return list(pool.map(_build_slice, *zip(*tasks, strict=True)))


def _output_facts(output: Path) -> dict[str, Any]:
    """Rows, columns, files and megabytes of the Parquet parts in ``output``."""
    parts = sorted(output.glob("*.parquet"))
    metadata = [pq.ParquetFile(part).metadata for part in parts]
    return {
        "output_rows": sum(m.num_rows for m in metadata),
        "output_columns": metadata[0].num_columns,
        "output_files": len(parts),
        "output_mb": sum(p.stat().st_size for p in parts) / 2**20,
    }


def _peaks_and_slice_times(done: Sequence[tuple[int, float, float]]) -> dict[str, Any]:
    """Peak RSS of this process and the workers; the slices' seconds."""
    peaks: dict[int, float] = {}
    for pid, peak, _ in done:
        peaks[pid] = max(peak, peaks.get(pid, 0.0))
    slice_s = sorted(seconds for _, _, seconds in done)
    own = own_peak_rss_mb()
    workers_peak = sum(v for pid, v in peaks.items() if pid != os.getpid())
    return {
        # Upper bound: every process at its own peak at the same time.
        "peak_rss_mb": own + workers_peak,
        "process_peaks_mb": {"build": own, "workers": sorted(peaks.values())},
        "slice_s": {
            "sum": sum(slice_s),
            "median": slice_s[len(slice_s) // 2],
            "max": slice_s[-1],
        },
    }


def run_child(
    directory: Path, settings: BuildSettings, timeout_s: float
) -> dict[str, Any]:
    """Run :func:`build_full` in a fresh interpreter and return its report.

    Returns:
        The child's report; on a timeout, ``wall_s`` and the peaks are
        ``None`` and ``timed_out`` is true.
    """
    with tempfile.TemporaryDirectory() as scratch:
        report_path = Path(scratch) / "report.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.bench_features",
            "--build",
            str(directory),
            "--report",
            str(report_path),
            *settings.as_args(),
        ]
        logger.info(
            "Building the model input from %s in a child process (%s)",
            directory,
            settings,
        )
        load_before = os.getloadavg()
        began = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT.parent, start_new_session=True)
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            # The child and its workers are their own process group.
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            logger.warning("The full build did not finish in %.0f s", timeout_s)
            return {"timed_out": True, "timeout_s": timeout_s, "wall_s": None}
        if child.returncode != 0:
            raise subprocess.CalledProcessError(child.returncode, command)
        elapsed = time.perf_counter() - began
        report = json.loads(report_path.read_text())
    report["timed_out"] = False
    report["process_s"] = elapsed
    # Other work on the machine slows the build down: keep the evidence.
    report["load_average_before"] = [round(x, 2) for x in load_before]
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    # The largest RSS of any one waited-for process (the child or a worker).
    report["largest_process_rss_mb"] = (
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    )
    logger.info(
        "Full build: %d rows x %d columns in %.1f s, peak RSS %.0f MB",
        report["output_rows"],
        report["output_columns"],
        report["wall_s"],
        report["peak_rss_mb"],
    )
    return report


def own_peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
