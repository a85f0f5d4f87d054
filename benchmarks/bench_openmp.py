"""Tree fits with the machine quiet and with one core taken, per OpenMP spin count.

Each setting runs the same fit workload (XGBoost and LightGBM, as the ensemble
uses them) in a fresh interpreter, since libgomp reads ``GOMP_SPINCOUNT`` and
``OMP_WAIT_POLICY`` once when it loads; "busy" runs it beside a process that
keeps one core busy. Results: ``benchmarks/results/openmp.json``; the reasoning
behind the package's default is in ``docs/benchmarks.md``.

    python -m benchmarks.bench_openmp                 # every setting, ~5 min
    python -m benchmarks.bench_openmp --repeats 3
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from importlib.metadata import version
from pathlib import Path

from benchmarks import log_progress
from benchmarks.machine import code_version, machine_info
from benchmarks.results_file import write_json

logger = logging.getLogger("benchmarks.openmp")
RESULT = Path(__file__).resolve().parent / "results" / "openmp.json"
# name -> environment; "default" leaves both variables unset (libgomp's own).
SETTINGS: dict[str, dict[str, str]] = {
    "default": {},
    "spin_100000": {"GOMP_SPINCOUNT": "100000"},
    "spin_10000": {"GOMP_SPINCOUNT": "10000"},
    "spin_1000": {"GOMP_SPINCOUNT": "1000"},
    "passive": {"OMP_WAIT_POLICY": "PASSIVE"},
}
# The workload, run with ``python -c``: prints its wall seconds.
FIT = """
import time
import lightgbm, numpy, xgboost
rng = numpy.random.default_rng(0)
x = rng.normal(size=(40_000, 60)).astype("float32")
y = (x[:, 0] + rng.normal(size=len(x)) > 1).astype(int)
started = time.perf_counter()
for seed in range(3):
    xgboost.XGBClassifier(n_estimators=200, max_depth=5, random_state=seed).fit(x, y)
    lightgbm.LGBMClassifier(n_estimators=200, random_state=seed, verbose=-1).fit(x, y)
print(time.perf_counter() - started)
"""
BUSY = "while True: pass"
SPIN_VARIABLES = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")


def run_fit(settings: dict[str, str]) -> str:
    """The workload's output in a fresh interpreter with only ``settings`` set.

    The caller's own ``GOMP_SPINCOUNT`` and ``OMP_WAIT_POLICY`` (importing
    ``churn_pipeline`` sets the first) are left out, so "default" is libgomp's.
    """
    env = {k: v for k, v in os.environ.items() if k not in SPIN_VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", FIT],
        env={**env, **settings},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def fit_seconds(settings: dict[str, str]) -> float:
    """Wall seconds of the workload (its last line) under ``settings``."""
    return round(float(run_fit(settings).strip().splitlines()[-1]), 2)


def measure(repeats: int) -> dict[str, dict[str, list[float]]]:
    """Per setting, the workload's wall seconds quiet and with one core busy."""
    results: dict[str, dict[str, list[float]]] = {name: {} for name in SETTINGS}
    for load in ("quiet", "busy"):
        hog = subprocess.Popen([sys.executable, "-c", BUSY]) if load == "busy" else None
        try:
            for name, settings in SETTINGS.items():
                results[name][load] = [fit_seconds(settings) for _ in range(repeats)]
                logger.info("%s, %s: %s s", name, load, results[name][load])
        finally:
            if hog is not None:
                hog.kill()
                hog.wait()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Run every setting quiet and busy and write the results file."""
    log_progress()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="runs per setting")
    parser.add_argument("--output", type=Path, default=RESULT, help="result JSON")
    args = parser.parse_args([] if argv is None else argv)
    load_before = os.getloadavg()
    started = time.time()
    results = measure(args.repeats)
    write_json(
        args.output,
        {
            "benchmark": "openmp",
            "what": "wall s of 3 x (XGBoost + LightGBM, 200 trees) on 40k x 60 rows",
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "load_average_before": [round(x, 2) for x in load_before],
            "machine": machine_info(
                **{name: version(name) for name in ("xgboost-cpu", "lightgbm")}
            ),
            "code": code_version(),
            "settings": SETTINGS,
            "results": results,
        },
    )
    logger.info("Written to %s", args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
