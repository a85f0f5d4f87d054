"""Feature-engineering benchmark: the model input of a million demo accounts.

1. Makes sure the demo business exists under ``benchmarks/data/demo_<N>/``
   (generated once per config; the config is stored next to the tables).
2. In a fresh child process, builds the model input (spine, label and all
   registry features, ``churn_pipeline.features.build.model_input``) for 12
   monthly as-of dates with DuckDB reading the Parquet files directly, and
   writes it to Parquet. The as-of dates are placed on the whole data; the
   accounts are then split into ``account_id`` ranges (``--slices``) that
   ``--workers`` processes build one at a time, each through views over the
   Parquet files, so hash tables stay in memory. Ranges only skip data when a
   table is stored clustered by account, as the demo writer's chunks are.
   ``--slices 1 --workers 1`` runs the plain single query. The wall time and
   the peak RSS (each process's own peak, summed) exclude data generation.
3. On subsamples of the same accounts (20,000 and 100,000 by default), builds
   the same table with the straightforward pandas implementation
   (``benchmarks.pandas_features``) and with Ibis on DuckDB in the same run,
   checks that they are equal and reports the ratio of their wall times. Both
   start from the subsample's frames shaped as the pipeline's feature nodes
   receive them (read through pyarrow). An untimed run on a few hundred
   accounts comes first, so neither side pays its one-time costs (lazy
   imports) in a timed run; then each side runs ``--repeats`` times (default
   2), taking turns, and its fastest run counts. The headline ratio is the
   largest subsample's, the one closest to the full build: on small ones, the
   Ibis side's fixed cost per build (building and compiling the query) weighs
   more.

Results go to ``benchmarks/results/features.json``.

Usage::

    python -m benchmarks.bench_features                    # 1,000,000 accounts
    python -m benchmarks.bench_features --accounts 50000   # a quick check

``BENCH_FEATURES_ACCOUNTS`` sets the default size (e.g. for ``make bench``).
Other work on the machine distorts the wall time: the load averages before and
after the build are recorded with the result.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import datetime as dt
import gc
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

import duckdb
import ibis
import pandas as pd
import pyarrow.parquet as pq

from benchmarks import pandas_features
from benchmarks.machine import machine_info
from benchmarks.results_file import write_json
from churn_pipeline.demo_data import DemoDataConfig, write_demo_data
from churn_pipeline.features import engine
from churn_pipeline.features.build import TABLES, model_input, timeline

logger = logging.getLogger("benchmarks.features")

ROOT = Path(__file__).resolve().parent
DATA_DIR = ROOT / "data"
RESULT = ROOT / "results" / "features.json"
CONFIG_FILE = "config.json"
GENERATION_FILE = "generation.json"

ACCOUNTS = 1_000_000
SUBSAMPLES = (20_000, 100_000)
WARM_UP_ACCOUNTS = 500
# Timed runs of each side per subsample (alternating; the fastest counts).
REPEATS = 2
SAMPLE_SEED = 42
# 15 months: 12 monthly as-of dates (2025-01-31 .. 2025-12-31) with their
# whole 90-day look-back.
START_DATE = "2024-10-01"
END_DATE = "2025-12-31"
CHUNK_ACCOUNTS = 50_000
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
THREADS = os.cpu_count() or 1
# DuckDB memory for the whole build, shared by the workers; the subsample
# comparison gets all of it.
MEMORY_BUDGET_MB = 3072
MEMORY_LIMIT = f"{MEMORY_BUDGET_MB}MB"
# Accounts per slice of the full build: small enough that a slice's hash tables
# stay in memory, large enough that planning each slice costs little.
SLICE_ACCOUNTS = 25_000
TARGETS = {"wall_s": 120.0, "peak_rss_mb": 4096.0, "speedup_vs_pandas": 10.0}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with ``--build``, only the child's build)."""
    args = _parser().parse_args([] if argv is None else argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
        )
    slices = args.slices or max(1, -(-args.accounts // SLICE_ACCOUNTS))
    workers = max(1, min(args.workers, slices))
    settings = BuildSettings(
        slices=slices,
        workers=workers,
        threads=args.threads or max(1, THREADS // workers),
        memory_limit=args.memory_limit or f"{MEMORY_BUDGET_MB // workers}MB",
    )
    if args.build is not None:
        report = build_full(args.build, settings)
        args.report.write_text(json.dumps(report, indent=2) + "\n")
        return 0
    directory, generation = ensure_data(args.accounts)
    full = run_child(directory, settings, args.timeout)
    comparisons = compare_subsamples(
        directory,
        [min(n, args.accounts) for n in args.subsample],
        threads=THREADS,
        repeats=args.repeats,
    )
    result = _result(args, settings, directory, generation, full, comparisons)
    write_json(Path(args.output), result)
    _log_summary(result, Path(args.output))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_features", description=__doc__.split("\n")[0]
    )
    add = parser.add_argument
    add(
        "--accounts",
        type=int,
        default=int(os.environ.get("BENCH_FEATURES_ACCOUNTS", ACCOUNTS)),
        help="demo accounts (default 1,000,000 or $BENCH_FEATURES_ACCOUNTS)",
    )
    add(
        "--subsample",
        type=int,
        nargs="+",
        default=list(SUBSAMPLES),
        help="accounts of each comparison with pandas (the largest is the headline)",
    )
    add(
        "--repeats",
        type=int,
        default=REPEATS,
        help="timed runs of each side per subsample; the fastest counts",
    )
    add(
        "--slices",
        type=int,
        help=f"account ranges built one at a time (default: one per "
        f"{SLICE_ACCOUNTS:,} accounts; 1: a single query)",
    )
    add("--workers", type=int, default=THREADS, help="processes building slices")
    add(
        "--threads", type=int, help="DuckDB threads per worker (default: cores/workers)"
    )
    add(
        "--memory-limit",
        help=f"DuckDB memory_limit per worker (default: {MEMORY_BUDGET_MB} MB/workers)",
    )
    add("--timeout", type=float, default=3600.0, help="give up the full build after")
    add("--output", default=str(RESULT), help="result JSON")
    add("--build", type=Path, help=argparse.SUPPRESS)
    add("--report", type=Path, help=argparse.SUPPRESS)
    return parser


# -- data ---------------------------------------------------------------------


def data_config(n_accounts: int) -> dict[str, Any]:
    """What the cached tables are a function of (stored next to them)."""
    config = DemoDataConfig(
        n_accounts=n_accounts, start_date=START_DATE, end_date=END_DATE
    )
    return {**dataclasses.asdict(config), "chunk_accounts": CHUNK_ACCOUNTS}


def ensure_data(n_accounts: int) -> tuple[Path, dict[str, Any]]:
    """The demo tables of ``n_accounts`` accounts, generated if missing or stale.

    Returns:
        Their directory and what the generation took (when it was measured).
    """
    directory = DATA_DIR / f"demo_{n_accounts}"
    wanted = data_config(n_accounts)
    stored = directory / CONFIG_FILE
    generation_file = directory / GENERATION_FILE
    complete = all((directory / f"{name}.parquet").exists() for name in TABLES)
    if complete and stored.exists() and json.loads(stored.read_text()) == wanted:
        logger.info("Reusing the demo data in %s (config unchanged)", directory)
        generation = (
            json.loads(generation_file.read_text()) if generation_file.exists() else {}
        )
        return directory, generation
    logger.info(
        "Generating the demo data: %d accounts, %s..%s, into %s (a million "
        "accounts take about 10 minutes)",
        n_accounts,
        START_DATE,
        END_DATE,
        directory,
    )
    stored.unlink(missing_ok=True)
    generation_file.unlink(missing_ok=True)
    began = time.perf_counter()
    settings = {k: v for k, v in wanted.items() if k != "chunk_accounts"}
    written = write_demo_data(
        DemoDataConfig(**settings), directory, chunk_accounts=CHUNK_ACCOUNTS
    )
    generation = {
        "seconds": round(time.perf_counter() - began, 1),
        "peak_rss_mb": round(_own_peak_rss_mb(), 1),
        "rows": written.rows,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    generation_file.write_text(json.dumps(generation, indent=2) + "\n")
    stored.write_text(json.dumps(wanted, indent=2) + "\n")
    logger.info("Generated the demo data in %.0f s", generation["seconds"])
    return directory, generation


def _paths(directory: Path) -> dict[str, Path]:
    return {name: directory / f"{name}.parquet" for name in TABLES}


def _row_counts(directory: Path) -> dict[str, int]:
    return {
        name: pq.ParquetFile(path).metadata.num_rows
        for name, path in _paths(directory).items()
    }


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
    return os.getpid(), _own_peak_rss_mb(), time.perf_counter() - began


def build_full(directory: Path, settings: BuildSettings) -> dict[str, Any]:
    """Build the model input from the Parquet files into Parquet files.

    Runs in the child process. The wall time covers placing the as-of dates,
    splitting the accounts, building and compiling the expression, running it
    (reading the Parquet files included) and writing the result.
    """
    paths = _paths(directory)
    with tempfile.TemporaryDirectory(dir=DATA_DIR, prefix="features-") as name:
        scratch = Path(name)
        output = scratch / "model_input"
        output.mkdir()
        began = time.perf_counter()
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
        if settings.workers == 1:
            _start_worker(*start_args)
            done = [_build_slice(*task) for task in tasks]
        else:
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(
                settings.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=start_args,
            ) as pool:
                done = list(pool.map(_build_slice, *zip(*tasks, strict=True)))
        peaks: dict[int, float] = {}
        for pid, peak, _ in done:
            peaks[pid] = max(peak, peaks.get(pid, 0.0))
        slice_s = sorted(seconds for _, _, seconds in done)
        wall = time.perf_counter() - began
        parts = sorted(output.glob("*.parquet"))
        metadata = [pq.ParquetFile(part).metadata for part in parts]
        own = _own_peak_rss_mb()
        workers_peak = sum(v for pid, v in peaks.items() if pid != os.getpid())
        report = {
            "wall_s": wall,
            "prepare_s": prepared - began,
            "output_rows": sum(m.num_rows for m in metadata),
            "output_columns": metadata[0].num_columns,
            "output_files": len(parts),
            "output_mb": sum(p.stat().st_size for p in parts) / 2**20,
            "as_of_dates": [str(d.date()) for d in line.dates],
            # Upper bound: every process at its own peak at the same time.
            "peak_rss_mb": own + workers_peak,
            "process_peaks_mb": {"build": own, "workers": sorted(peaks.values())},
            "slice_s": {
                "sum": sum(slice_s),
                "median": slice_s[len(slice_s) // 2],
                "max": slice_s[-1],
            },
        }
    return report


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


def _own_peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the comparison with pandas on a subsample ---------------------------------


def load_subsample(directory: Path, n_accounts: int) -> dict[str, pd.DataFrame]:
    """All rows of ``n_accounts`` accounts drawn at random, as pandas frames.

    Shaped as the pipeline's feature nodes receive the validated tables from
    Kedro's ``pandas.ParquetDataset``, which reads through pyarrow: strings as
    objects, one Python object per distinct value (pyarrow's
    ``deduplicate_objects``), and ns timestamps. DuckDB's ``df()`` would make
    one object per row instead (18 M for the 100k-account usage table), which
    neither side meets in a real run.
    """
    paths = _paths(directory)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(
        f"CREATE TEMP TABLE sample AS SELECT account_id FROM "
        f"read_parquet('{paths['accounts']}') USING SAMPLE "
        f"reservoir({n_accounts} ROWS) REPEATABLE ({SAMPLE_SEED})"
    )
    tables = {}
    for name, path in paths.items():
        frame = (
            con.sql(
                f"SELECT t.* FROM read_parquet('{path}') AS t SEMI JOIN sample "
                f"USING (account_id) ORDER BY ALL"
            )
            .to_arrow_table()
            .to_pandas()
        )
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].astype("datetime64[ns]")
        tables[name] = frame
    con.close()
    return tables


def compare_subsamples(
    directory: Path, sizes: Sequence[int], *, threads: int, repeats: int = 1
) -> list[dict[str, Any]]:
    """:func:`compare_with_pandas` per size, smallest first, after a warm-up.

    The warm-up (``WARM_UP_ACCOUNTS``, untimed) pays both sides' one-time
    costs, e.g. importing Ibis's DuckDB backend, as a long-running pipeline
    does once.
    """
    logger.info("Warm-up comparison of %d accounts (not reported)", WARM_UP_ACCOUNTS)
    compare_with_pandas(directory, min(WARM_UP_ACCOUNTS, *sizes), threads=threads)
    return [
        compare_with_pandas(directory, size, threads=threads, repeats=repeats)
        for size in sorted(set(sizes))
    ]


def speedups(comparisons: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """pandas' wall time over Ibis's, by subsample size (accounts)."""
    return {
        str(c["accounts"]): round(c["pandas_s"] / c["ibis_duckdb_s"], 2)
        for c in comparisons
    }


def compare_with_pandas(
    directory: Path, n_accounts: int, *, threads: int, repeats: int = 1
) -> dict[str, Any]:
    """Time the pandas baseline and the Ibis build on a subsample; check equality.

    Both start from the same pandas frames in memory and end with a pandas
    frame sorted by the keys; each places its own as-of dates. The Ibis side
    takes the frames as the pipeline's feature nodes do (``engine.table``).
    With ``repeats`` > 1 the two sides take turns and each side's fastest run
    counts (as ``timeit`` advises: slower runs measure the machine's other
    work); every run's time is kept.

    Raises:
        ValueError: If ``repeats`` is below 1.
        AssertionError: If the two tables differ.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    logger.info("Loading a subsample of %d accounts", n_accounts)
    frames = load_subsample(directory, n_accounts)
    ibis_runs: list[float] = []
    pandas_runs: list[float] = []
    for run in range(1, repeats + 1):
        ibis_frame = pandas_frame = None  # the last run's, freed before timing
        gc.collect()
        logger.info(
            "Subsample run %d/%d: Ibis on DuckDB (%d threads)", run, repeats, threads
        )
        began = time.perf_counter()
        ibis_dates, ibis_frame = _ibis_build(frames, threads)
        ibis_runs.append(time.perf_counter() - began)
        logger.info("Subsample: Ibis on DuckDB took %.2f s", ibis_runs[-1])
        gc.collect()
        logger.info("Subsample run %d/%d: pandas baseline (one thread)", run, repeats)
        began = time.perf_counter()
        dates, pandas_frame = _pandas_build(frames)
        pandas_runs.append(time.perf_counter() - began)
        logger.info("Subsample: pandas took %.2f s", pandas_runs[-1])
    if dates != ibis_dates:
        raise AssertionError(f"As-of dates differ: {dates} != {ibis_dates}")
    problems = pandas_features.frame_differences(ibis_frame, pandas_frame)
    if problems:
        raise AssertionError("pandas and Ibis differ:\n" + "\n".join(problems))
    logger.info("Subsample: equal tables (%d rows)", len(ibis_frame))
    return {
        "accounts": n_accounts,
        "input_rows": {name: len(frame) for name, frame in frames.items()},
        "output_rows": len(ibis_frame),
        "ibis_duckdb_s": min(ibis_runs),
        "pandas_s": min(pandas_runs),
        "ibis_duckdb_runs_s": [round(s, 2) for s in ibis_runs],
        "pandas_runs_s": [round(s, 2) for s in pandas_runs],
        "equal": True,
    }


def _ibis_build(
    frames: Mapping[str, pd.DataFrame], threads: int
) -> tuple[list[pd.Timestamp], pd.DataFrame]:
    """The as-of dates and the model input, by Ibis on a fresh DuckDB."""
    con = _connect(threads, MEMORY_LIMIT)
    memtables = {name: engine.table(frames[name]) for name in TABLES}
    line = timeline(
        con,
        memtables,
        observation_end=None,
        min_history_days=MIN_HISTORY_DAYS,
        max_snapshots=SNAPSHOTS,
    )
    expr = model_input(
        memtables, line.dates, **_options(line.observation_end, line.usage_start)
    )
    frame = engine.execute(con, expr, KEYS)
    con.disconnect()
    return line.dates, frame


def _pandas_build(
    frames: Mapping[str, pd.DataFrame],
) -> tuple[list[pd.Timestamp], pd.DataFrame]:
    """The as-of dates and the model input, by the pandas baseline."""
    dates, end, usage_start = pandas_features.timeline(
        frames, min_history_days=MIN_HISTORY_DAYS, max_snapshots=SNAPSHOTS
    )
    frame = pandas_features.model_input(
        frames,
        dates,
        horizon_days=HORIZON_DAYS,
        observation_end=end,
        key_columns=KEY_COLUMNS,
        usage_start=usage_start,
    )
    return dates, frame


# -- the result -----------------------------------------------------------------


def _result(
    args: argparse.Namespace,
    settings: BuildSettings,
    directory: Path,
    generation: Mapping[str, Any],
    full: Mapping[str, Any],
    comparisons: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    rows = _row_counts(directory)
    wall = full["wall_s"]
    peak = full.get("peak_rss_mb")
    by_size = speedups(comparisons)
    headline = max(comparisons, key=lambda c: c["accounts"])
    speedup = by_size[str(headline["accounts"])]
    finished = wall is not None
    met = {
        "wall_s": finished and wall < TARGETS["wall_s"],
        "peak_rss_mb": finished and peak < TARGETS["peak_rss_mb"],
        "speedup_vs_pandas": speedup >= TARGETS["speedup_vs_pandas"],
    }
    build = {
        "what": "churn_pipeline.features.build.model_input on DuckDB reading the "
        "Parquet files, written to Parquet, in a fresh child process; accounts "
        "split into account_id ranges built by worker processes",
        "slices": settings.slices,
        "workers": settings.workers,
        "duckdb_per_worker": {
            "threads": settings.threads,
            "memory_limit": settings.memory_limit,
            "preserve_insertion_order": False,
        },
        "peak_rss_mb_is": "sum of the build process's and each worker's own peak "
        "(an upper bound of the total)",
        **{k: v for k, v in full.items() if k not in ("wall_s", "peak_rss_mb")},
    }
    return {
        "benchmark": "features",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "accounts": args.accounts,
        "usage_rows": rows["usage"],
        "snapshots": len(full["as_of_dates"]) if finished else SNAPSHOTS,
        "wall_s": _round(wall, 2),
        "rows_per_s": round(rows["usage"] / wall) if finished else None,
        "input_rows": sum(rows.values()),
        "input_rows_per_s": round(sum(rows.values()) / wall) if finished else None,
        "peak_rss_mb": _round(peak, 1),
        "speedup_vs_pandas": speedup,
        "speedup_vs_pandas_by_subsample": by_size,
        "output_rows": full.get("output_rows"),
        "output_columns": full.get("output_columns"),
        "full_build": _rounded(build),
        "subsample": _rounded({**headline, "ibis_duckdb_threads": THREADS}),
        "subsamples": [
            _rounded({**c, "ibis_duckdb_threads": THREADS}) for c in comparisons
        ],
        "input": {"rows": rows, "config": data_config(args.accounts)},
        "data_generation": dict(generation),
        "targets": TARGETS,
        "targets_met": met,
        "code": _code(),
        "machine": machine_info(
            duckdb=duckdb.__version__, ibis=ibis.__version__, pandas=pd.__version__
        ),
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _rounded(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in values.items()}


def _code() -> dict[str, Any]:
    """Which feature code ran (a checkout, or a copy on ``PYTHONPATH``)."""
    from churn_pipeline import features  # noqa: PLC0415

    def git(*command: str) -> str:
        done = subprocess.run(
            ["git", *command],
            check=False,
            cwd=ROOT.parent,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    return {
        "features_package": str(Path(features.__file__).parent),
        "git_commit": git("rev-parse", "HEAD"),
        "git_dirty_features": bool(
            git("status", "--porcelain", "src/churn_pipeline/features")
        ),
    }


def _log_summary(result: Mapping[str, Any], path: Path) -> None:
    if result["wall_s"] is None:
        logger.warning("The full build timed out; see %s", path)
    else:
        logger.info(
            "%d accounts, %d usage rows, %d snapshots: %.1f s, %.2fM usage "
            "rows/s, peak RSS %.0f MB",
            result["accounts"],
            result["usage_rows"],
            result["snapshots"],
            result["wall_s"],
            result["rows_per_s"] / 1e6,
            result["peak_rss_mb"],
        )
    logger.info(
        "Times the pandas baseline's speed, by subsample (accounts): %s; written to %s",
        result["speedup_vs_pandas_by_subsample"],
        path,
    )
    missed = [name for name, ok in result["targets_met"].items() if not ok]
    if missed:
        logger.warning("Targets missed: %s (targets %s)", missed, result["targets"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
