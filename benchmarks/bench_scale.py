"""Whole-run benchmark: ``kedro run`` end to end at 10k, 100k and 1M demo accounts.

Per size, in a private copy of the project (code and configuration, a fresh
``mlflow.db``, no data): the demo tables of that many accounts (generated once
by the chunked generator and cached under ``--work-dir``), then the default
``kedro run`` as a child process with ``CHURN_PIPELINE_PROFILE`` set, so each
node's wall time and peak RSS are recorded (``churn_pipeline.runs.profile``).
Nodes are grouped into data work (validation, ingestion, features), model
work (tuning, backtest, final fit) and the rest (``benchmarks/scale_result.py``).
A size that fails (out of memory, an error, the timeout) is recorded as failed
with the node it was in and its peak RSS; the next size still runs.

Results go to ``benchmarks/results/scale.json``, rewritten after every size;
sizes run earlier and not rerun are kept (``--fresh`` drops them).

Usage::

    python -m benchmarks.bench_scale                         # 10k, 100k, 1M
    python -m benchmarks.bench_scale --sizes 10000,30000     # a quick check

``BENCH_SCALE_SIZES`` sets the default sizes (e.g. for ``make bench``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import log_progress
from benchmarks.machine import code_version, cpu_counters, machine_info, steal_percent
from benchmarks.results_file import write_json
from benchmarks.scale_result import evaluate_targets, summarise_profile, summary_table
from benchmarks.scale_run import (
    copy_project,
    demo_settings,
    ensure_data,
    link_tables,
    run_measured,
)
from churn_pipeline.runs.profile import PROFILE_ENV

logger = logging.getLogger("benchmarks.scale")

ROOT = Path(__file__).resolve().parent
PROJECT = ROOT.parent
RESULT = ROOT / "results" / "scale.json"
WORK_DIR = ROOT / "data" / "scale"
SIZES = (10_000, 100_000, 1_000_000)
# The demo pipeline's smallest sensible business: fewer accounts leave too few
# churners per backtest fold.
MIN_ACCOUNTS = 1_000
TIMEOUT_S = 6 * 3600.0
PROFILE_FILE = "node_profile.json"
LOG_FILE = "kedro_run.log"


def parse_sizes(text: str) -> list[int]:
    """Comma-separated account counts (``_`` allowed), ascending, no repeats.

    Raises:
        argparse.ArgumentTypeError: Naming the offending value and the rule.
    """
    parts = [part.strip().replace("_", "") for part in text.split(",")]
    if not any(parts):
        raise argparse.ArgumentTypeError("give at least one account count")
    sizes = []
    for part in parts:
        if not part.isdigit():
            raise argparse.ArgumentTypeError(
                f"{part!r} is not a whole number of accounts"
            )
        if int(part) < MIN_ACCOUNTS:
            raise argparse.ArgumentTypeError(
                f"{int(part)} accounts is below the minimum {MIN_ACCOUNTS}"
            )
        sizes.append(int(part))
    repeated = sorted({size for size in sizes if sizes.count(size) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"{repeated} given more than once")
    return sorted(sizes)


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0 s, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    """The command line (``--help`` lists it)."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_scale", description=__doc__.split("\n")[0]
    )
    add = parser.add_argument
    add(
        "--sizes",
        type=parse_sizes,
        default=os.environ.get("BENCH_SCALE_SIZES", ",".join(map(str, SIZES))),
        help="accounts per run, comma-separated (default 10000,100000,1000000 "
        "or $BENCH_SCALE_SIZES)",
    )
    add("--work-dir", type=Path, default=WORK_DIR, help="demo data cache and copies")
    add("--timeout", type=_positive, default=TIMEOUT_S, help="seconds per kedro run")
    add("--output", type=Path, default=RESULT, help="result JSON")
    add("--fresh", action="store_true", help="drop sizes an earlier run recorded")
    add("--keep", action="store_true", help="keep each run's project copy")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run every size, rewriting the result after each; 1 if any size failed."""
    args = parser().parse_args([] if argv is None else argv)
    log_progress()
    result = _previous(args.output, fresh=args.fresh)
    for accounts in args.sizes:
        entry = run_size(accounts, args.work_dir, args.timeout, keep=args.keep)
        result["sizes"][str(accounts)] = entry
        result.update(_context())
        result["targets"] = evaluate_targets(result["sizes"])
        write_json(args.output, result)
        logger.info(
            "%s accounts: %s; written to %s", accounts, entry["status"], args.output
        )
    logger.info("\n%s", summary_table(result))
    failed = [k for k, e in result["sizes"].items() if e["status"] != "completed"]
    return 1 if failed else 0


def _previous(path: Path, *, fresh: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"benchmark": "scale", "sizes": {}}
    if not fresh and path.exists():
        result["sizes"] = json.loads(path.read_text()).get("sizes", {})
    return result


def _context() -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "what": "the default `kedro run` (event_history) on generated demo data, "
        "one private project copy per size, a fresh MLflow store each",
        "groups": {
            "data_work": "validation, ingestion and feature engineering",
            "model_work": "model_training (split, tuning, final fit) and "
            "model_evaluation (backtest, test metrics)",
            "other": "registry, explanation, scoring, reporting, daily scoring "
            "and the online store",
        },
        "peak_rss_mb_is": "the larger of the kernel's peak for the kedro process "
        "(wait4 ru_maxrss, as /usr/bin/time -v) and the process tree's summed "
        "RSS sampled every 0.5 s",
        "machine": machine_info(**_versions()),
    }


def _versions() -> dict[str, str]:
    names = ("kedro", "duckdb", "ibis-framework", "pandas", "xgboost-cpu", "lightgbm")
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def run_size(
    accounts: int, work_dir: Path, timeout_s: float, *, keep: bool = False
) -> dict[str, Any]:
    """One size end to end; a failure is recorded in the entry, not raised."""
    copy = work_dir / f"run_{accounts}"
    logs = work_dir / f"logs_{accounts}"
    entry: dict[str, Any] = {"accounts": accounts, "status": "failed"}
    entry["started_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    entry["code"] = code_version(("src", "conf"))
    try:
        copy_project(PROJECT, copy)
        settings = demo_settings(copy, accounts)
        cache = work_dir / "data" / f"demo_{accounts}"
        entry["data_generation"] = ensure_data(settings, cache, timeout_s)
        entry["data"] = settings
        entry["raw_rows"] = link_tables(cache, copy / "data" / "01_raw")
    except (OSError, RuntimeError, KeyError, ValueError) as error:
        entry["error"] = f"before the run: {type(error).__name__}: {error}"
        logger.error("%s accounts: %s", accounts, entry["error"])
        return entry
    entry.update(_run_kedro(copy, logs, timeout_s))
    if not keep:
        shutil.rmtree(copy, ignore_errors=True)
    return entry


def _run_kedro(copy: Path, logs: Path, timeout_s: float) -> dict[str, Any]:
    logs.mkdir(parents=True, exist_ok=True)
    profile_path = logs / PROFILE_FILE
    profile_path.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(copy / "src"),
        PROFILE_ENV: str(profile_path),
    }
    env.pop("MLFLOW_TRACKING_URI", None)  # the copy's own sqlite store
    logger.info("kedro run in %s (log %s)", copy, logs / LOG_FILE)
    steal_before, load_before = cpu_counters(), os.getloadavg()
    measured = run_measured(
        [sys.executable, "-m", "kedro", "run"],
        cwd=copy,
        log=logs / LOG_FILE,
        timeout_s=timeout_s,
        env=env,
    )
    profile = _read_profile(profile_path)
    completed = measured["outcome"] == "completed" and profile.get("status") == (
        "completed"
    )
    tail = measured.pop("log_tail")
    summary = summarise_profile(profile)
    in_nodes = sum(group["wall_s"] for group in summary["groups"].values())
    return {
        "status": "completed" if completed else "failed",
        **measured,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpu_steal_percent": steal_percent(steal_before, cpu_counters()),
        "profile_error": profile.get("error"),
        # Start-up, hooks and MLflow around the nodes (unknown when a node
        # never ended).
        "outside_nodes_s": round(measured["wall_s"] - in_nodes, 2)
        if completed
        else None,
        **summary,
        **({} if completed else {"log_tail": tail}),
        "logs": str(logs),
    }


def _read_profile(path: Path) -> Mapping[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        logger.warning("No node profile at %s: %s", path, error)
        return {}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
