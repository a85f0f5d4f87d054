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
import dataclasses
import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pandas as pd
import pyarrow.parquet as pq

from benchmarks import log_progress
from benchmarks.feature_build import (
    ROOT,
    SNAPSHOTS,
    BuildSettings,
    build_full,
    data_paths,
    own_peak_rss_mb,
    run_child,
)
from benchmarks.machine import code_version, machine_info
from benchmarks.results_file import write_json
from churn_pipeline.demo_data import DemoDataConfig, write_demo_data
from churn_pipeline.features.build import TABLES

logger = logging.getLogger("benchmarks.features")

DATA_DIR = ROOT / "data"
RESULT = ROOT / "results" / "features.json"
CONFIG_FILE = "config.json"
GENERATION_FILE = "generation.json"

ACCOUNTS = 1_000_000
# 15 months: 12 monthly as-of dates (2025-01-31 .. 2025-12-31) with their
# whole 90-day look-back.
START_DATE = "2024-10-01"
END_DATE = "2025-12-31"
CHUNK_ACCOUNTS = 50_000
THREADS = os.cpu_count() or 1
# DuckDB memory for the whole build, shared by the workers; the subsample
# comparison gets all of it.
MEMORY_BUDGET_MB = 3072
MEMORY_LIMIT = f"{MEMORY_BUDGET_MB}MB"
# Accounts per slice of the full build: small enough that a slice's hash tables
# stay in memory, large enough that planning each slice costs little.
SLICE_ACCOUNTS = 25_000
TARGETS = {"wall_s": 120.0, "peak_rss_mb": 4096.0}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark (or, with ``--build``, only the child's build)."""
    args = _parser().parse_args([] if argv is None else argv)
    log_progress()
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
    result = _result(args, settings, directory, generation, full)
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
        "peak_rss_mb": round(own_peak_rss_mb(), 1),
        "rows": written.rows,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    generation_file.write_text(json.dumps(generation, indent=2) + "\n")
    stored.write_text(json.dumps(wanted, indent=2) + "\n")
    logger.info("Generated the demo data in %.0f s", generation["seconds"])
    return directory, generation


def _row_counts(directory: Path) -> dict[str, int]:
    return {
        name: pq.ParquetFile(path).metadata.num_rows
        for name, path in data_paths(directory).items()
    }


# -- the result -----------------------------------------------------------------


def _result(
    args: argparse.Namespace,
    settings: BuildSettings,
    directory: Path,
    generation: Mapping[str, Any],
    full: Mapping[str, Any],
) -> dict[str, Any]:
    rows = _row_counts(directory)
    wall = full["wall_s"]
    peak = full.get("peak_rss_mb")
    finished = wall is not None
    met = {
        "wall_s": finished and wall < TARGETS["wall_s"],
        "peak_rss_mb": finished and peak < TARGETS["peak_rss_mb"],
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
        "output_rows": full.get("output_rows"),
        "output_columns": full.get("output_columns"),
        "full_build": _rounded(build),
        "input": {"rows": rows, "config": data_config(args.accounts)},
        "data_generation": dict(generation),
        "targets": TARGETS,
        "targets_met": met,
        "code": code_version(("src/churn_pipeline/features",)),
        "machine": machine_info(
            duckdb=duckdb.__version__, ibis=ibis.__version__, pandas=pd.__version__
        ),
    }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _rounded(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in values.items()}


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
    logger.info("Written to %s", path)
    missed = [name for name, ok in result["targets_met"].items() if not ok]
    if missed:
        logger.warning("Targets missed: %s (targets %s)", missed, result["targets"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
