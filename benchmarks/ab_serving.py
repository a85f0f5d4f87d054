"""A/B of two serving settings: the same service, run alternately, compared.

On a shared 2-core VM, throughput moves by a quarter between two identical runs
minutes apart, so two settings measured one after the other (or on different
days) cannot be told apart. This starts one server per setting, both serving
the champion side by side, and runs the serving benchmark's closed-loop hey
load (:func:`benchmarks.loadgen.closed_loop`) against each in turn, flipping
the order every round, so slow drift in the machine hits both alike. It
reports each setting's per-round results, their medians, how many rounds each
won and the ratios, in ``benchmarks/results/serving_ab.json``.

Run (after ``make run``) as ``make bench-serving-ab AB_A=... AB_B=...``, or::

    .venv/bin/python -m benchmarks.ab_serving \\
        --a CHURN_BATCH_WAIT_TURNS=16 --b CHURN_BATCH_WAIT_TURNS=0 --rounds 8

Each setting is a comma-separated list of environment variables for the server
(docs/serving.md lists the ones it reads). ``--by-id`` sends the account's id
alone (features from the online store) instead of its full feature vector.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import statistics
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks import loadgen
from benchmarks.bench_serving import (
    DEFAULT_MODEL_URI,
    DEFAULT_TRACKING_URI,
    ROOT,
    Scenario,
    Settings,
    load_inputs,
    request_body,
    scenario_result,
)
from benchmarks.machine import machine_info, serve, tree_cpu_s
from benchmarks.results_file import write_json
from churn_pipeline.serving.runtime import WORKERS_ENV

logger = logging.getLogger("benchmarks.ab_serving")

RESULT = ROOT / "results" / "serving_ab.json"
LABELS = ("a", "b")
COMPARED = (
    "p50_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "requests_per_s",
    "server_cpu_ms_per_request",
)
# Lower is better for every compared key but throughput.
_HIGHER_IS_BETTER = frozenset({"requests_per_s"})


def parse_setting(text: str) -> dict[str, str]:
    """``"NAME=value,OTHER=x"`` as a mapping; ``""`` is the default setting.

    Raises:
        ValueError: If an item is not ``NAME=value`` with a non-empty name.
    """
    setting: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"Setting items must read NAME=value, got {item!r}")
        setting[name.strip()] = value.strip()
    return setting


def round_order(round_index: int) -> tuple[str, ...]:
    """Which setting runs first: ``a`` in even rounds, ``b`` in odd ones."""
    return LABELS if round_index % 2 == 0 else LABELS[::-1]


def run_summary(run: Mapping[str, Any], server_cpu_s: float) -> dict[str, Any]:
    """A closed-loop run's summary plus the server's CPU per answered request.

    The CPU counters cover the warm-up too, so its requests count as answered.
    """
    answered = run["requests"] + run.get("warmup_requests", 0)
    return {
        **run,
        "server_cpu_ms_per_request": (
            round(server_cpu_s / answered * 1000, 3) if answered else None
        ),
    }


def compare(rounds: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    """Medians, rounds won by ``a``, ratios ``a / b`` and each one's slowest request.

    A round is won by the setting better on that key in that round (ties go to
    neither). The slowest request is reported apart because rare stalls hit a
    few rounds hard and vanish from the medians.

    Raises:
        ValueError: If the settings have different numbers of rounds.
    """
    pairs = list(zip(rounds["a"], rounds["b"], strict=True))
    medians = {
        label: {
            key: round(statistics.median(run[key] for run in rounds[label]), 3)
            for key in COMPARED
        }
        for label in LABELS
    }
    a_wins = {
        key: sum(_better(key, a[key], b[key]) for a, b in pairs) for key in COMPARED
    }
    return {
        "medians": medians,
        "rounds": len(rounds["a"]),
        "a_wins": a_wins,
        "slowest_ms": {
            label: max(run["max_ms"] for run in rounds[label]) for label in LABELS
        },
        "a_over_b": {
            key: round(medians["a"][key] / medians["b"][key], 3)
            if medians["b"][key]
            else None
            for key in COMPARED
        },
    }


def _better(key: str, value: float, other: float) -> bool:
    return value > other if key in _HIGHER_IS_BETTER else value < other


def main(argv: Sequence[str] | None = None) -> int:
    """Run the A/B and write its JSON result."""
    args = _parser().parse_args([] if argv is None else argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
        )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)
    if args.workers:
        os.environ[WORKERS_ENV] = str(args.workers)
    loadgen.hey_binary()
    settings = {"a": parse_setting(args.a), "b": parse_setting(args.b)}
    inputs = load_inputs(args.model_uri, args.account)
    scenario = Scenario("ab", 1, args.concurrency, by_id=args.by_id)
    rounds: dict[str, list[dict[str, Any]]] = {label: [] for label in LABELS}
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with (
        tempfile.TemporaryDirectory(prefix="bench-ab-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        body_file = Path(scratch) / "body.json"
        body_file.write_bytes(request_body("bentoml", scenario, inputs))
        servers = {
            label: stack.enter_context(
                serve(
                    "bentoml",
                    inputs.served.uri,
                    scratch=Path(scratch),
                    extra_env=settings[label],
                    startup_timeout_s=args.startup_timeout,
                    label=label,
                )
            )
            for label in LABELS
        }
        for index in range(args.rounds):
            for label in round_order(index):
                pid = servers[label].process.pid
                cpu_before = tree_cpu_s(pid)
                run = loadgen.closed_loop(
                    servers[label].url + "/predict",
                    body_file,
                    concurrency=args.concurrency,
                    duration_s=args.duration,
                    warmup_s=args.warmup,
                    max_requests=Settings.max_requests,
                )
                result = run_summary(
                    scenario_result(run, scenario), tree_cpu_s(pid) - cpu_before
                )
                rounds[label].append(result)
                logger.info("round %d %s %s: %s", index, label, settings[label], result)
    comparison = compare(rounds)
    write_json(
        args.output,
        {
            "benchmark": "serving_ab",
            "started_at": started_at,
            "model_uri": inputs.served.uri,
            "model_version": inputs.served.version,
            "settings": settings,
            "account_id": inputs.account["account_id"],
            "body": "the account's id alone" if args.by_id else "its feature vector",
            "concurrency": args.concurrency,
            "workers": os.environ.get(WORKERS_ENV, "service default"),
            "duration_s": args.duration,
            "load_generator": "hey (Debian package)",
            **comparison,
            "runs": rounds,
            "machine": machine_info(),
        },
    )
    logger.info("A/B medians %s; a/b %s", comparison["medians"], comparison["a_over_b"])
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="setting A: NAME=value,...")
    parser.add_argument("--b", required=True, help="setting B: NAME=value,...")
    parser.add_argument("--model-uri", default=DEFAULT_MODEL_URI)
    parser.add_argument("--account", help="account sent (default: top scored)")
    parser.add_argument("--by-id", action="store_true", help="send the id alone")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, help="CHURN_WORKERS of both servers")
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--startup-timeout", type=float, default=240.0)
    parser.add_argument("--output", type=Path, default=RESULT)
    return parser


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
