"""A/B of serving settings: the same service, run in turns, compared to a baseline.

On a shared 2-core VM, throughput moves by a quarter between two identical runs
minutes apart, so settings measured one after the other cannot be told apart.
This starts one server per variant, all serving the champion side by side, and
runs the same closed-loop hey load (:func:`benchmarks.loadgen.closed_loop`)
against each in turn, the order rotated every round, so slow drift in the
machine hits all alike. Each variant is compared with the first (the baseline)
round by round: the per-round ratios' median and range, and in how many rounds
it was better. Results: ``benchmarks/results/serving_ab.json``.

Run (after ``make run``) as ``make bench-serving-ab``, or::

    .venv/bin/python -m benchmarks.ab_serving \\
        --variant default= --variant no_gc_freeze=CHURN_GC_FREEZE=0

A variant is ``name=`` then comma-separated environment variables for its
server (docs/serving.md lists them); the pseudo-variable ``service=module:Class``
serves another BentoML service (``benchmarks.bentoml_batching``). Without
``--variant`` the serving micro-optimisations are measured (:data:`VARIANTS`).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import logging
import os
import statistics
import sys
import tempfile
from collections.abc import Mapping, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks import loadgen
from benchmarks.machine import machine_info, tree_cpu_s
from benchmarks.results_file import write_json
from benchmarks.servers import prepare_serving_run, serve
from benchmarks.serving_inputs import (
    ROOT,
    Scenario,
    add_input_arguments,
    load_inputs,
    request_body,
    scenario_result,
)
from churn_pipeline.serving.runtime import WORKERS_ENV

logger = logging.getLogger("benchmarks.ab_serving")

RESULT = ROOT / "results" / "serving_ab.json"
LABELS = ("a", "b")
SERVICE_KEY = "service"
# The baseline first: each other variant differs from it in one thing.
VARIANTS = (
    "default=",
    "no_gc_freeze=CHURN_GC_FREEZE=0",
    "trace_predict=CHURN_TRACE_PREDICT=1",
    "no_batching=CHURN_MAX_BATCH_ACCOUNTS=1",
    "bentoml_batching=service=benchmarks.bentoml_batching:BatchedChurnService",
)
COMPARED = (
    "p50_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "requests_per_s",
    "server_cpu_ms_per_request",
)
# What decides whether a variant differs: tail latency, throughput, CPU.
DECIDING = ("p99_ms", "requests_per_s", "server_cpu_ms_per_request")
MATTERS_RATIO = 0.05  # the median ratio is off 1 by at least this much ...
MATTERS_ROUNDS = 0.8  # ... in the same direction in at least this share of rounds
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


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """``"name=NAME=value,..."`` as the name and its setting.

    Raises:
        ValueError: If the name is missing or the setting is malformed.
    """
    name, sep, setting = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"A variant must read name=SETTING, got {text!r}")
    return name.strip(), parse_setting(setting)


def round_order(round_index: int, labels: Sequence[str] = LABELS) -> tuple[str, ...]:
    """The labels rotated by the round: each runs in each position in turn."""
    shift = round_index % len(labels)
    return (*labels[shift:], *labels[:shift])


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


def versus(
    variant: Sequence[Mapping[str, Any]], baseline: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """A variant against the baseline, round by round.

    Returns:
        :func:`compare` of the two (``a`` the variant), the per-round ratios
        ``variant / baseline`` of each key (median, low, high) and on which of
        :data:`DECIDING` the variant is ``worse`` or ``better``: its median
        ratio is off 1 by :data:`MATTERS_RATIO` or more, in the same direction
        in at least :data:`MATTERS_ROUNDS` of the rounds.
    """
    result = compare({"a": variant, "b": baseline})
    ratios = {
        key: [v[key] / b[key] for v, b in zip(variant, baseline, strict=True)]
        for key in COMPARED
    }
    result["round_ratios"] = {
        key: {
            "median": round(statistics.median(values), 3),
            "low": round(min(values), 3),
            "high": round(max(values), 3),
        }
        for key, values in ratios.items()
    }
    needed = MATTERS_ROUNDS * len(variant)
    worse, better = [], []
    for key in DECIDING:
        median = statistics.median(ratios[key])
        wins = result["a_wins"][key]
        gain = median - 1 if key in _HIGHER_IS_BETTER else 1 - median
        if gain <= -MATTERS_RATIO and len(variant) - wins >= needed:
            worse.append(key)
        elif gain >= MATTERS_RATIO and wins >= needed:
            better.append(key)
    return {**result, "worse": worse, "better": better}


def _better(key: str, value: float, other: float) -> bool:
    return value > other if key in _HIGHER_IS_BETTER else value < other


def measure(
    variants: Mapping[str, Mapping[str, str]],
    inputs: Any,
    args: argparse.Namespace,
) -> dict[str, list[dict[str, Any]]]:
    """Start a server per variant, then run the rounds; each variant's runs."""
    scenario = Scenario("ab", 1, args.concurrency)
    labels = tuple(variants)
    rounds: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    with (
        tempfile.TemporaryDirectory(prefix="bench-ab-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        body_file = Path(scratch) / "body.json"
        body_file.write_bytes(request_body("bentoml", scenario, inputs))
        servers = start_all(
            stack,
            {
                label: serve(
                    "bentoml",
                    inputs.served.uri,
                    scratch=Path(scratch),
                    extra_env={k: v for k, v in setting.items() if k != SERVICE_KEY},
                    startup_timeout_s=args.startup_timeout,
                    label=label,
                    service=setting.get(SERVICE_KEY),
                )
                for label, setting in variants.items()
            },
        )
        # BentoML's dispatcher first learns its batch latency on live requests.
        for label in labels:
            loadgen.closed_loop(
                servers[label].url + "/predict",
                body_file,
                concurrency=args.concurrency,
                duration_s=args.settle,
                warmup_s=0.5,
            )
        for index in range(args.rounds):
            for label in round_order(index, labels):
                pid = servers[label].process.pid
                cpu_before = tree_cpu_s(pid)
                run = loadgen.closed_loop(
                    servers[label].url + "/predict",
                    body_file,
                    concurrency=args.concurrency,
                    duration_s=args.duration,
                    warmup_s=args.warmup,
                )
                result = run_summary(
                    scenario_result(run, scenario), tree_cpu_s(pid) - cpu_before
                )
                result["load_average_1m"] = round(os.getloadavg()[0], 2)
                rounds[label].append(result)
                logger.info("round %d %s: %s", index, label, result)
    return rounds


def start_all(
    stack: contextlib.ExitStack, starting: Mapping[str, Any]
) -> dict[str, Any]:
    """Enter the server contexts ``starting`` at once; ``stack`` stops them.

    Servers start in parallel (each waits mostly on imports and the model), so
    the A/B's start-up takes about one server's time, not one per variant.

    Raises:
        Exception: The first start-up error, once every server that did start
            is on ``stack``.
    """
    with concurrent.futures.ThreadPoolExecutor(len(starting)) as pool:
        futures = {label: pool.submit(cm.__enter__) for label, cm in starting.items()}
    servers, errors = {}, []
    for label, future in futures.items():
        try:
            servers[label] = future.result()
        except Exception as error:
            errors.append(error)
            continue
        stack.push(starting[label].__exit__)
    if errors:
        raise errors[0]
    return servers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the A/B and write its JSON result."""
    args = _parser().parse_args([] if argv is None else argv)
    prepare_serving_run(args.workers)
    loadgen.hey_binary()
    variants = dict(parse_variant(text) for text in args.variant or VARIANTS)
    inputs = load_inputs(args.model_uri, args.account, Path(args.data))
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load_before = [round(x, 2) for x in os.getloadavg()]
    rounds = measure(variants, inputs, args)
    baseline = next(iter(variants))
    comparisons = {
        label: versus(rounds[label], rounds[baseline])
        for label in variants
        if label != baseline
    }
    write_json(
        args.output,
        {
            "benchmark": "serving_ab",
            "command": "python -m benchmarks.ab_serving " + " ".join(argv or []),
            "started_at": started_at,
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "model_uri": inputs.served.uri,
            "model_version": inputs.served.version,
            "variants": variants,
            "baseline": baseline,
            "account_id": inputs.account["account_id"],
            "body": "the account's feature vector",
            "concurrency": args.concurrency,
            "workers": os.environ.get(WORKERS_ENV, "service default"),
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "settle_s": args.settle,
            "rounds": args.rounds,
            "load_generator": "hey (Debian package)",
            "matters": f"median per-round ratio off 1 by >= {MATTERS_RATIO:.0%} on "
            f"one of {list(DECIDING)}, same direction in >= {MATTERS_ROUNDS:.0%} "
            "of rounds",
            "versus_baseline": comparisons,
            "runs": rounds,
            "machine": machine_info(
                bentoml=version("bentoml"), hey=loadgen.hey_version() or "unknown"
            ),
        },
    )
    for label, comparison in comparisons.items():
        logger.info(
            "%s vs %s: ratios %s; worse on %s, better on %s",
            *(label, baseline, comparison["round_ratios"]),
            *(comparison["worse"], comparison["better"]),
        )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--variant", action="append", help="name=NAME=value,... (first: baseline)")
    add_input_arguments(parser)
    add("--rounds", type=int, default=6)
    add("--concurrency", type=int, default=8)
    add("--workers", type=int, help="CHURN_WORKERS of every server")
    add("--duration", type=float, default=5.0, help="measured seconds per run")
    add("--warmup", type=float, default=1.0, help="seconds before each run")
    add("--settle", type=float, default=5.0, help="unmeasured seconds per server")
    add("--startup-timeout", type=float, default=900.0)
    add("--output", type=Path, default=RESULT)
    return parser


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
