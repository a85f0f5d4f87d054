"""Serving benchmark: the champion by account id and by full vector, and MLflow's.

One run, one registered model, the accounts the daily scoring job scored
(``data/04_feature/current_features.parquet``), one server at a time, load
from ``hey`` (:mod:`benchmarks.loadgen`). Systems and their scenarios
(:data:`SCENARIOS`): ``in_process`` (``predict_accounts`` called directly,
the floor); ``bentoml`` (``serving.service`` on the SQLite online store ``make
run`` filled: full vectors and ids alone, then a soak of by-id requests at a
steady rate with the server's memory sampled); ``bentoml_redis`` (the same on
a Redis server started here and filled with the same features); ``mlflow``
(``mlflow models serve``, probabilities only); ``bentoml_noop`` (no model;
only when asked for). Single-account scenarios send one account (``--account``,
default the top of the daily scored list), batches the first 100 accounts.
Results, ratios and targets: ``benchmarks/results/serving.json``; a run is
summarised in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

from benchmarks import loadgen, machine, servers
from benchmarks.loadgen import Answer, summarise
from benchmarks.machine import cpu_counters, steal_percent
from benchmarks.machine import tree_memory_mb as memory
from benchmarks.results_file import result_document, summary_table, write_json
from benchmarks.serving_inputs import (
    BATCH,
    FEATURE_REPO,
    FEATURES,
    Inputs,
    Scenario,
    add_input_arguments,
    churn_probability,
    load_inputs,
    request_body,
    scenario_result,
)
from churn_pipeline.serving.runtime import (
    DEFAULT_WORKERS,
    WORKERS_ENV,
    whole_number_setting,
)

logger = logging.getLogger("benchmarks.serving")
ROOT = Path(__file__).resolve().parent
RESULT = ROOT / "results" / "serving.json"
SYSTEMS = ("in_process", "bentoml", "bentoml_redis", "mlflow", "bentoml_noop")
JSON = {"Content-Type": "application/json"}


SINGLE = (Scenario("single_c1", 1, 1), Scenario("single_c8", 1, 8))
BY_ID = (Scenario("by_id_c1", 1, 1, True), Scenario("by_id_c8", 1, 8, True))
FULL = (*SINGLE, Scenario("batch100_c8", BATCH, 8))
# Scenarios in one group take turns (loadgen.alternating): a by-id scenario and
# its full-vector reference see the same machine.
PAIRS = ((SINGLE[0], BY_ID[0]), (SINGLE[1], BY_ID[1]))
GROUPS: dict[str, tuple[tuple[Scenario, ...], ...]] = {
    "bentoml": (*PAIRS, (FULL[2],)),
    "bentoml_redis": PAIRS,
    "mlflow": tuple((s,) for s in FULL),
    "bentoml_noop": tuple((s,) for s in FULL),
}
SCENARIOS = {
    "in_process": (Scenario("single_c1", 1, 1), Scenario("batch100_c1", BATCH, 1)),
    **{system: sum(groups, ()) for system, groups in GROUPS.items()},
}


@dataclass(frozen=True)
class Settings:
    """Seconds per scenario, server processes and the soak."""

    duration_s: float = 15.0
    warmup_s: float = 2.0
    max_requests: int = 100_000
    startup_timeout_s: float = 240.0
    workers: int = DEFAULT_WORKERS
    soak_s: float = 120.0
    soak_rate: float = 20.0
    rounds: int = 4


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark, write the JSON result and print its tables."""
    args = _parser().parse_args([] if argv is None else argv)
    servers.prepare_serving_run(args.workers)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if unknown := sorted(set(systems) - set(SYSTEMS)):
        raise SystemExit(f"Unknown systems {unknown}; choose from {list(SYSTEMS)}")
    loadgen.hey_binary()  # fail before loading anything
    settings = Settings(
        duration_s=args.duration,
        warmup_s=args.warmup,
        workers=whole_number_setting(os.environ, WORKERS_ENV, DEFAULT_WORKERS),
        soak_s=args.soak_duration,
        soak_rate=args.soak_rate,
        rounds=args.rounds,
    )
    data = Path(args.data)
    inputs = load_inputs(args.model_uri, args.account, data)
    context = _run_context(argv, args, settings, inputs)
    results, server_facts, store_read = run_systems(systems, inputs, settings, data)
    context["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    context["machine"] = machine.machine_info(
        **{name: version(name) for name in ("bentoml", "mlflow", "feast")},
        hey=loadgen.hey_version() or "unknown",
    )
    result = result_document(
        results, servers=server_facts, store_read=store_read, scored=inputs.scored,
        context=context,
    )  # fmt: skip
    write_json(Path(args.output), result)
    print(summary_table(result))
    logger.info("Written to %s", args.output)
    return 0


def _run_context(
    argv: Sequence[str] | None,
    args: argparse.Namespace,
    settings: Settings,
    inputs: Inputs,
) -> dict[str, Any]:
    """What the results file records of the run before it measures anything."""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.bench_serving " + " ".join(argv or []),
        "code": machine.code_version(),
        "settings": vars(args) | {"server_workers": settings.workers},
        "model_uri": inputs.served.uri,
        "model_version": inputs.served.version,
        "account_id": inputs.account["account_id"],
        "bodies": "one body file per scenario, repeated by hey: the account above "
        f"(single_*, by_id_*) or the first {BATCH} accounts (batch100_*) of "
        f"data/{FEATURES}",
        "load_generator": "hey (Debian package) -o csv; each measured run sends "
        "the last throughput seen x the seconds to go; single_cN and by_id_cN "
        "take turns in `rounds` rounds, order flipped every round",
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def run_systems(
    systems: Sequence[str], inputs: Inputs, settings: Settings, data: Path
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Each of ``systems`` in :data:`SYSTEMS` order, one at a time, on its store.

    Returns:
        The scenario results and the server facts (command, memory, answers) by
        system, and the in-process read times by online store kind.
    """
    results: dict[str, dict[str, Any]] = {}
    server_facts: dict[str, dict[str, Any]] = {}
    store_read: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as scratch:
        for system in (s for s in SYSTEMS if s in systems):
            if system == "in_process":
                results[system], server_facts[system] = run_in_process(inputs, settings)
                continue
            with servers.online_store(
                system,
                Path(scratch),
                repo=data / FEATURE_REPO,
                features=data / FEATURES,
            ) as (env, store):
                if store is not None:
                    store_read[store.kind] = store_read_ms(
                        store, inputs.account["account_id"]
                    )
                results[system], server_facts[system] = run_system(
                    system, inputs, settings, Path(scratch), env
                )
    return results, server_facts, store_read


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_serving", description=__doc__.split("\n")[0]
    )
    add, env = parser.add_argument, os.environ.get
    add("--duration", type=float, default=float(env("BENCH_SERVING_DURATION_S", 15)))
    add("--warmup", type=float, default=2.0, help="warm-up seconds per scenario")
    add("--soak-duration", type=float, default=float(env("BENCH_SOAK_S", 120)))
    add("--soak-rate", type=float, default=20.0, help="soak requests per second")
    add("--rounds", type=int, default=4, help="turns of by-id and full vectors")
    add("--workers", type=int, help="CHURN_WORKERS (default: the service's)")
    add("--systems", default="in_process,bentoml,bentoml_redis,mlflow")
    add_input_arguments(parser)
    add("--output", default=str(RESULT), help="result JSON")
    return parser


def store_read_ms(
    settings: Any, account_id: str, duration_s: float = 2.0
) -> dict[str, Any]:
    """``OnlineFeatureReader.read([account_id])`` timed in-process (p50, p99 ms).

    Raises:
        RuntimeError: If the store does not hold the account.
    """
    from churn_pipeline.feature_store import OnlineFeatureReader  # noqa: PLC0415

    reader = OnlineFeatureReader(settings)
    try:
        if account_id not in reader.read([account_id]):
            raise RuntimeError(f"The {settings.describe()} lacks {account_id}")
        run = timed_calls(
            lambda: reader.read([account_id]), warmup_s=0.2, duration_s=duration_s
        )
    finally:
        reader.close()
    return {"p50_ms": run["p50_ms"], "p99_ms": run["p99_ms"], "calls": run["requests"]}


# -- runs ------------------------------------------------------------------------


def run_in_process(
    inputs: Inputs, settings: Settings
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``predict_accounts`` on accounts validated beforehand, one call at a time."""
    from churn_pipeline.serving.predict import predict_accounts  # noqa: PLC0415
    from churn_pipeline.serving.schema import account_features_model  # noqa: PLC0415

    model, policy = inputs.served.model, inputs.served.policy
    schema = account_features_model(model.numeric_features, model.categorical_features)
    single, batch = (
        [schema.model_validate({k: r.get(k) for k in schema.model_fields}) for r in rs]
        for rs in ([inputs.account], inputs.batch)
    )
    results = {}
    for scenario in SCENARIOS["in_process"]:
        accounts = single if scenario.accounts == 1 else batch
        run = timed_calls(
            lambda a=accounts: predict_accounts(model, policy, a),
            warmup_s=settings.warmup_s,
            duration_s=settings.duration_s,
        )
        results[scenario.name] = scenario_result(run, scenario)
        _log("in_process", scenario.name, results[scenario.name])
    probability = predict_accounts(model, policy, single)[0].churn_probability
    return results, {"churn_probability": {"full_vector": probability}}


def run_system(
    system: str,
    inputs: Inputs,
    settings: Settings,
    scratch: Path,
    env: Mapping[str, str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every scenario of ``system`` on one freshly started server (and the soak)."""
    path = "/invocations" if system == "mlflow" else "/predict"
    results: dict[str, Any] = {}
    with servers.serve(
        system,
        inputs.served.uri,
        workers=settings.workers,
        scratch=scratch,
        extra_env=env,
        startup_timeout_s=settings.startup_timeout_s,
    ) as server:
        pid, port = server.process.pid, int(server.url.rsplit(":", 1)[1])
        context: dict[str, Any] = {
            "command": " ".join(
                servers.server_command(
                    system, inputs.served.uri, port, settings.workers
                )
            ),
            "environment": dict(env),
            "startup_s": round(server.startup_s, 1),
            "memory_after_ready": memory(pid),
            "churn_probability": {},
        }
        for group in GROUPS[system]:
            results |= _run_group(
                system,
                group,
                server.url + path,
                inputs=inputs,
                settings=settings,
                scratch=scratch,
                probabilities=context["churn_probability"],
            )
        context["memory_after_scenarios"] = memory(pid)
        if system == "bentoml" and settings.soak_s > 0:
            logger.info(
                "Soak: %g requests/s for %.0f s", settings.soak_rate, settings.soak_s
            )
            context["soak"] = loadgen.paced(
                server.url + path,
                scratch / f"{system}_by_id_c1.json",
                rate_per_s=settings.soak_rate,
                duration_s=settings.soak_s,
                sample=lambda: memory(pid),
            )
    return results, context


def _run_group(
    system: str,
    group: Sequence[Scenario],
    url: str,
    *,
    inputs: Inputs,
    settings: Settings,
    scratch: Path,
    probabilities: dict[str, float],
) -> dict[str, Any]:
    """The scenarios of ``group`` taking turns against ``url``: results by name.

    Each single-account body is sent once first and its churn probability put
    in ``probabilities`` (by id or full vector), so a broken server fails here.
    """
    runs = {}
    for scenario in group:
        body = request_body(system, scenario, inputs)
        body_file = scratch / f"{system}_{scenario.name}.json"
        body_file.write_bytes(body)
        runs[scenario.name] = (url, body_file, scenario.concurrency)
        if scenario.accounts == 1 and system != "bentoml_noop":
            kind = "by_id" if scenario.by_id else "full_vector"
            probabilities[kind] = _probe(system, url, body, scratch / f"{system}.log")
    counters = cpu_counters()
    measured = loadgen.alternating(
        runs,
        rounds=settings.rounds if len(group) > 1 else 1,
        duration_s=settings.duration_s,
        warmup_s=settings.warmup_s,
        max_requests=settings.max_requests,
    )
    steal = steal_percent(counters, cpu_counters())
    results = {}
    for scenario in group:
        run = measured[scenario.name]
        run["cpu_steal_percent"] = steal
        run["load_average_1m"] = round(os.getloadavg()[0], 2)
        results[scenario.name] = scenario_result(run, scenario)
        _log(system, scenario.name, results[scenario.name])
    return results


def _probe(system: str, url: str, body: bytes, log: Path) -> float:
    """The churn probability one request gets (the server's log if it fails)."""
    answer = httpx.post(url, content=body, headers=JSON, timeout=60)
    if answer.status_code != 200:
        raise RuntimeError(
            f"{system} answered {answer.status_code}: {answer.text[:1000]}\n"
            f"{log.read_text(errors='replace')[-3000:]}"
        )
    return churn_probability(system, answer.json())


def timed_calls(
    call: Callable[[], Any], *, warmup_s: float, duration_s: float
) -> dict[str, Any]:
    """``call()`` over and over in this process: a warm-up, then a timed window.

    One more untimed call comes first: a freshly loaded model compiles on it.

    Returns:
        :func:`summarise` of the calls in the window (exceptions propagate).
    """
    call()
    answers = []
    began = end = time.perf_counter()
    while end - began < warmup_s + duration_s:
        start = time.perf_counter()
        call()
        end = time.perf_counter()
        if start - began >= warmup_s:
            answers.append(Answer((end - start) * 1000.0, 200, start - began))
    return summarise(answers, sent=None)


def _log(system: str, name: str, result: Mapping[str, Any]) -> None:
    logger.info(
        "%s %s: p50 %s ms, p99 %s ms, %s requests/s, %d errors (%d requests)",
        *(system, name, result["p50_ms"], result["p99_ms"]),
        *(result["requests_per_s"], result["errors"], result["requests"]),
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
