"""Serving benchmark: the champion behind BentoML, behind MLflow, and in-process.

In one run, on the same registered model (``models:/churn-model@champion``
by default) and the same accounts (the rows of
``data/05_model_input/scoring_snapshots.parquet``, nulls for missing values):

1. **in_process**, the floor: ``load_served_model`` and then
   ``predict_accounts`` called directly on already validated accounts, one
   call at a time (concurrency 1 only: threads in one interpreter would only
   measure the GIL). Also times the parts of one single-account call
   (validation, ``predict_proba``, ``explain``, reasons and playbook) to show
   where the time goes.
2. **bentoml**: ``bentoml serve serving.service:ChurnService`` on 127.0.0.1,
   ``POST /predict`` with ``{"accounts": [...]}``; the server's own access
   log timings are summarised next to the client's.
3. **mlflow**: ``mlflow models serve --env-manager local --workers N``,
   ``POST /invocations`` with ``{"dataframe_split": ...}``. It answers
   ``predict_proba`` only (``[[p_retained, p_churn], ...]``), while BentoML's
   endpoint also explains each score and applies the playbook: the two do
   different amounts of work per account, which the JSON says.

Each HTTP scenario runs in a separate load-generator process
(``benchmarks.loadgen``: asyncio, one keep-alive HTTP/1.1 connection per
client) with N closed-loop clients: a
warm-up, then a window of ``--duration`` seconds (or ``--max-requests``),
latencies per request, errors = non-2xx answers and transport errors.
Scenarios: one account per request at concurrency 1, 8 and 32, and 100
accounts per request at concurrency 8. One server runs at a time.

4. **soak**: a freshly started BentoML server gets single-account requests at
   a steady rate (``--soak-rate``, default 20/s) for ``--soak-duration``
   seconds (default 120); requests start on schedule whatever the answers take
   (at most ``--soak-max-in-flight`` waiting, later starts are skipped and
   counted). Reports errors, requests, latency percentiles and the resident
   memory of the server's process tree at the start, every tenth of the run
   and at the end.

Results go to ``benchmarks/results/serving.json``: ``{system: {scenario:
{p50_ms, p95_ms, p99_ms, requests_per_s, accounts_per_s, errors, ...}}}``
plus the machine, the model, ratios, the targets and whether they are met.

Usage::

    python -m benchmarks.bench_serving                  # everything (~7 min)
    python -m benchmarks.bench_serving --duration 5 --soak-duration 20

``BENCH_SERVING_DURATION_S``, ``BENCH_SOAK_S`` and ``BENCH_SOAK_RATE`` set the
defaults. ``MLFLOW_TRACKING_URI`` defaults to the project's ``mlflow.db``.
Other work on the machine distorts the numbers: the load averages before and
after are recorded.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import functools
import json
import logging
import math
import multiprocessing
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from benchmarks import loadgen
from benchmarks.loadgen import latency_summary
from benchmarks.machine import cpu_counters, machine_info, steal_percent
from benchmarks.results_file import write_json

if TYPE_CHECKING:  # heavy imports stay out of the load generator's process
    import pandas as pd

logger = logging.getLogger("benchmarks.serving")

ROOT = Path(__file__).resolve().parent
PROJECT = ROOT.parent
RESULT = ROOT / "results" / "serving.json"
SCORING_SNAPSHOTS = PROJECT / "data" / "05_model_input" / "scoring_snapshots.parquet"
DEFAULT_MODEL_URI = "models:/churn-model@champion"
DEFAULT_TRACKING_URI = f"sqlite:///{PROJECT / 'mlflow.db'}"
SYSTEMS = ("bentoml", "mlflow", "in_process", "bentoml_noop")

DURATION_S = 15.0
WARMUP_S = 2.0
MAX_REQUESTS = 20_000
REQUEST_TIMEOUT_S = 120.0
STARTUP_TIMEOUT_S = 240.0
SOAK_S = 120.0
SOAK_RATE = 20.0
SOAK_MAX_IN_FLIGHT = 32
SOAK_SAMPLES = 10
BREAKDOWN_SIZES = (1, 8)
BREAKDOWN_CALLS = 20

TARGETS = {
    "bentoml_p99_ms_single_c8": 15.0,
    "bentoml_errors": 0,
    "bentoml_vs_mlflow_throughput_single_c8": 2.0,
    "soak_errors": 0,
}


@dataclass(frozen=True)
class Scenario:
    """Accounts per request and concurrent clients of one measurement."""

    name: str
    accounts_per_request: int
    concurrency: int


SCENARIOS = (
    Scenario("single_c1", 1, 1),
    Scenario("single_c8", 1, 8),
    Scenario("single_c32", 1, 32),
    Scenario("batch100_c8", 100, 8),
)
# In-process calls are sequential: concurrency 1 only.
IN_PROCESS_SCENARIOS = (Scenario("single_c1", 1, 1), Scenario("batch100_c1", 100, 1))

# {workers}: server processes, the same for every HTTP system (--workers).
SYSTEM_DESCRIPTIONS = {
    "bentoml": "bentoml serve serving.service:ChurnService ({workers} worker(s), "
    "otherwise defaults), POST /predict {{'accounts': [...]}}: validation, "
    "probability, SHAP reasons both ways, playbook triggers and action, contact "
    "profit per account",
    "mlflow": "mlflow models serve --env-manager local --workers {workers}, POST "
    "/invocations {{'dataframe_split': ...}}: schema check and the pyfunc "
    "predict_fn predict_proba only (answers [[p_retained, p_churn], ...]; no "
    "reasons, no playbook)",
    "bentoml_noop": "bentoml serve benchmarks.noop_service:NoopService "
    "({workers} worker(s)), POST /predict with the same bodies, answered without "
    "a model: "
    "the floor of BentoML, HTTP and the load generator on this machine",
    "in_process": "churn_pipeline.api_schema.predict_accounts on accounts "
    "validated beforehand (validation not timed), called sequentially in one "
    "process: concurrency 1 only (scenarios single_c1 and batch100_c1)",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write the JSON result."""
    args = _parser().parse_args([] if argv is None else argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
        )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # readiness polls
    os.environ.setdefault("MLFLOW_TRACKING_URI", DEFAULT_TRACKING_URI)
    systems = [name.strip() for name in args.systems.split(",") if name.strip()]
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        raise SystemExit(f"Unknown systems {unknown}; choose from {list(SYSTEMS)}")

    served = load_champion(args.model_uri)
    records = load_records(SCORING_SNAPSHOTS, served.model.feature_names_in_)
    if args.accounts:
        records = records[: args.accounts]
    columns = list(served.model.feature_names_in_)
    logger.info(
        "Serving benchmark of %s (version %s) on %d accounts",
        served.uri,
        served.version,
        len(records),
    )
    load_before = [round(x, 2) for x in os.getloadavg()]
    started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    code = _code()  # what the servers load; checked again at the end
    results: dict[str, dict[str, Any]] = {}
    context: dict[str, Any] = {}
    settings = RunSettings(
        duration_s=args.duration,
        warmup_s=args.warmup,
        max_requests=args.max_requests,
        startup_timeout_s=args.startup_timeout,
        workers=args.workers,
    )
    probabilities: dict[str, float] = {}

    if "in_process" in systems:
        results["in_process"], context["in_process"] = run_in_process(
            served, records, settings
        )
        probabilities["in_process"] = context["in_process"].pop("first_probability")
    with loadgen_pool() as pool:
        if "bentoml" in systems:
            results["bentoml"], context["bentoml"] = run_server_scenarios(
                "bentoml", records, columns, served.uri, settings, pool
            )
            probabilities["bentoml"] = context["bentoml"].pop("first_probability")
        if "mlflow" in systems:
            results["mlflow"], context["mlflow"] = run_server_scenarios(
                "mlflow", records, columns, served.uri, settings, pool
            )
            probabilities["mlflow"] = context["mlflow"].pop("first_probability")
        if "bentoml_noop" in systems:
            results["bentoml_noop"], context["bentoml_noop"] = run_server_scenarios(
                "bentoml_noop", records, columns, served.uri, settings, pool
            )
            context["bentoml_noop"].pop("first_probability")
        soak = None
        if args.soak_duration > 0:
            soak = run_soak(
                records,
                served.uri,
                settings,
                pool,
                duration_s=args.soak_duration,
                rate=args.soak_rate,
                max_in_flight=args.soak_max_in_flight,
            )

    result = build_result(
        results,
        soak=soak,
        model={"uri": served.uri, "version": served.version, "name": served.name},
        context={
            "started_at": started_at,
            "accounts": len(records),
            "accounts_source": str(SCORING_SNAPSHOTS.relative_to(PROJECT)),
            "settings": {
                "duration_s": args.duration,
                "warmup_s": args.warmup,
                "max_requests": args.max_requests,
                "request_timeout_s": REQUEST_TIMEOUT_S,
                "server_workers": args.workers,
            },
            "systems_compared": {
                k: SYSTEM_DESCRIPTIONS[k].format(workers=args.workers) for k in results
            },
            "servers": context,
            "same_answer": same_answer(records[0]["account_id"], probabilities),
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "code": {**code, "changed_during_run": _code() != code},
        },
    )
    write_json(Path(args.output), result)
    _log_summary(result, Path(args.output))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_serving", description=__doc__.split("\n")[0]
    )
    add = parser.add_argument
    env = os.environ.get
    add(
        "--duration",
        type=float,
        default=float(env("BENCH_SERVING_DURATION_S", DURATION_S)),
        help="measured seconds per scenario (default 15 or $BENCH_SERVING_DURATION_S)",
    )
    add("--warmup", type=float, default=WARMUP_S, help="warm-up seconds per scenario")
    add(
        "--max-requests",
        type=int,
        default=MAX_REQUESTS,
        help="stop a scenario's window after this many requests",
    )
    add(
        "--soak-duration",
        type=float,
        default=float(env("BENCH_SOAK_S", SOAK_S)),
        help="soak seconds (default 120 or $BENCH_SOAK_S; 0 skips the soak)",
    )
    add(
        "--soak-rate",
        type=float,
        default=float(env("BENCH_SOAK_RATE", SOAK_RATE)),
        help="single-account requests started per second in the soak (default 20)",
    )
    add(
        "--soak-max-in-flight",
        type=int,
        default=SOAK_MAX_IN_FLIGHT,
        help="soak requests waiting at most; further starts are skipped",
    )
    add(
        "--workers",
        type=int,
        default=int(env("BENCH_SERVING_WORKERS", os.cpu_count() or 1)),
        help="server processes of every HTTP system (default: one per core, "
        "or $BENCH_SERVING_WORKERS)",
    )
    add("--systems", default=",".join(SYSTEMS), help="comma-separated subset")
    add("--accounts", type=int, help="use only the first N accounts")
    add(
        "--model-uri",
        default=env("CHURN_MODEL_URI", DEFAULT_MODEL_URI),
        help="registered model to serve (default $CHURN_MODEL_URI or the champion)",
    )
    add(
        "--startup-timeout",
        type=float,
        default=STARTUP_TIMEOUT_S,
        help="seconds a server may take to become ready",
    )
    add("--output", default=str(RESULT), help="result JSON")
    return parser


@dataclass(frozen=True)
class RunSettings:
    """How long each scenario runs, how long a server may take to start, and
    how many processes each server runs."""

    duration_s: float
    warmup_s: float
    max_requests: int
    startup_timeout_s: float
    workers: int = 1


# -- model and accounts ----------------------------------------------------------


def load_champion(model_uri: str):
    """The served model, or a clear exit if there is none to benchmark.

    Raises:
        SystemExit: If the tracking store, the model or the scoring snapshot
            is missing (``make run`` creates all three).
    """
    from mlflow.exceptions import MlflowException  # noqa: PLC0415

    from churn_pipeline.registry import load_served_model  # noqa: PLC0415

    tracking_uri = os.environ["MLFLOW_TRACKING_URI"]
    hint = "run `make run` first to train and register the champion"
    if tracking_uri.startswith("sqlite:///"):
        store = Path(tracking_uri.removeprefix("sqlite:///"))
        if not store.exists():
            raise SystemExit(f"No MLflow store at {store}: {hint}.")
    if not SCORING_SNAPSHOTS.exists():
        raise SystemExit(f"No accounts to score at {SCORING_SNAPSHOTS}: {hint}.")
    try:
        return load_served_model(model_uri)
    except MlflowException as error:
        raise SystemExit(
            f"No model {model_uri} in {tracking_uri}: {hint}. ({error})"
        ) from error


def records_from_frame(
    frame: pd.DataFrame, features: Sequence[str]
) -> list[dict[str, Any]]:
    """One JSON-ready record per row: ``account_id`` and ``features``, NaN as None."""
    records = frame[["account_id", *features]].to_dict(orient="records")
    return [{k: _plain(v) for k, v in record.items()} for record in records]


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def load_records(path: Path, features: Sequence[str]) -> list[dict[str, Any]]:
    """The accounts of the scoring snapshot, in file order."""
    import pandas as pd  # noqa: PLC0415

    return records_from_frame(pd.read_parquet(path), list(features))


def batches(
    records: Sequence[Mapping[str, Any]], size: int
) -> list[list[Mapping[str, Any]]]:
    """Consecutive full batches of ``size`` records (the remainder is left out).

    Raises:
        ValueError: If there are fewer than ``size`` records.
    """
    if size < 1 or len(records) < size:
        raise ValueError(f"Need at least {size} records, got {len(records)}")
    return [
        list(records[start : start + size])
        for start in range(0, len(records) - size + 1, size)
    ]


def bentoml_body(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``POST /predict`` body of the BentoML service."""
    return {"accounts": [dict(record) for record in records]}


def mlflow_body(
    records: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> dict[str, Any]:
    """``POST /invocations`` body of ``mlflow models serve`` (split orientation)."""
    return {
        "dataframe_split": {
            "columns": list(columns),
            "data": [[record.get(column) for column in columns] for record in records],
        }
    }


def encode(body: Mapping[str, Any]) -> bytes:
    """Compact JSON; NaN is refused (it is not JSON)."""
    return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()


def request_bodies(
    system: str,
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    accounts_per_request: int,
) -> list[bytes]:
    """Encoded bodies of ``accounts_per_request`` accounts each, for ``system``."""
    groups = (
        [[record] for record in records]
        if accounts_per_request == 1
        else batches(records, accounts_per_request)
    )
    if system in ("bentoml", "bentoml_noop"):
        return [encode(bentoml_body(group)) for group in groups]
    if system == "mlflow":
        return [encode(mlflow_body(group, columns)) for group in groups]
    raise ValueError(f"No HTTP body for system {system!r}")


def first_churn_probability(system: str, answer: Mapping[str, Any]) -> float:
    """The first account's churn probability in a server's answer."""
    if system in ("bentoml", "bentoml_noop"):
        return float(answer["predictions"][0]["churn_probability"])
    first = answer["predictions"][0]
    # predict_proba: [p_retained, p_churn] per row.
    return float(first[1] if isinstance(first, list) else first)


def same_answer(account_id: str, probabilities: Mapping[str, float]) -> dict[str, Any]:
    """Whether every system gave the first account the same probability."""
    values = list(probabilities.values())
    spread = max(values) - min(values) if values else None
    return {
        "account_id": account_id,
        "churn_probability": dict(probabilities),
        "max_abs_difference": spread,
        "equal_to_1e-9": spread is not None and spread <= 1e-9,
    }


# -- summaries and the result ------------------------------------------------------


def scenario_result(run: Mapping[str, Any], scenario: Scenario) -> dict[str, Any]:
    """Latency percentiles, throughput and errors of one measured run."""
    window = run["window_s"]
    count = run["requests"]
    summary = latency_summary(run["latencies_ms"])
    out: dict[str, Any] = {
        "p50_ms": summary["p50_ms"],
        "p95_ms": summary["p95_ms"],
        "p99_ms": summary["p99_ms"],
        "p999_ms": summary["p999_ms"],
        "requests_per_s": round(count / window, 3) if window > 0 else None,
        "accounts_per_s": (
            round(count * scenario.accounts_per_request / window, 3)
            if window > 0
            else None
        ),
        "errors": run["errors"],
        "requests": count,
        "duration_s": round(window, 2),
        "mean_ms": summary["mean_ms"],
        "max_ms": summary["max_ms"],
        "concurrency": scenario.concurrency,
        "accounts_per_request": scenario.accounts_per_request,
    }
    for key in ("warmup_requests", "drained_requests", "statuses"):
        if key in run:
            out[key] = run[key]
    if run.get("error_samples"):
        out["error_samples"] = run["error_samples"]
    return out


def ratios(results: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """BentoML against MLflow (throughput per scenario) and against in-process."""
    out: dict[str, Any] = {}
    bento, mlflow_ = results.get("bentoml", {}), results.get("mlflow", {})
    for scenario in SCENARIOS:
        key = f"bentoml_vs_mlflow_throughput_{scenario.name}"
        out[key] = _ratio(
            bento.get(scenario.name, {}).get("accounts_per_s"),
            mlflow_.get(scenario.name, {}).get("accounts_per_s"),
        )
    out["bentoml_vs_mlflow_p99_single_c8"] = _ratio(
        bento.get("single_c8", {}).get("p99_ms"),
        mlflow_.get("single_c8", {}).get("p99_ms"),
    )
    out["bentoml_vs_in_process_p50_single_c1"] = _ratio(
        bento.get("single_c1", {}).get("p50_ms"),
        results.get("in_process", {}).get("single_c1", {}).get("p50_ms"),
    )
    return out


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def targets_met(
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    soak: Mapping[str, Any] | None,
) -> dict[str, bool | None]:
    """Each target of :data:`TARGETS`: met, missed, or ``None`` if not measured."""
    bento = results.get("bentoml")
    p99 = (bento or {}).get("single_c8", {}).get("p99_ms")
    speedup = ratios(results)["bentoml_vs_mlflow_throughput_single_c8"]
    return {
        "bentoml_p99_ms_single_c8": (
            None if p99 is None else p99 <= TARGETS["bentoml_p99_ms_single_c8"]
        ),
        "bentoml_errors": (
            None
            if bento is None
            else sum(s["errors"] for s in bento.values()) <= TARGETS["bentoml_errors"]
        ),
        "bentoml_vs_mlflow_throughput_single_c8": (
            None
            if speedup is None
            else speedup >= TARGETS["bentoml_vs_mlflow_throughput_single_c8"]
        ),
        "soak_errors": (
            None if soak is None else soak["errors"] <= TARGETS["soak_errors"]
        ),
    }


def build_result(
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    soak: Mapping[str, Any] | None,
    model: Mapping[str, str],
    context: Mapping[str, Any],
    machine: Mapping[str, Any] | None = None,
    date: str | None = None,
) -> dict[str, Any]:
    """The JSON document: ``{system: {scenario: {...}}}`` plus everything else."""
    met = targets_met(results, soak)
    return {
        "benchmark": "serving",
        "date": date or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model_uri": model["uri"],
        "model_version": model["version"],
        "model_name": model.get("name"),
        **{system: dict(results[system]) for system in SYSTEMS if system in results},
        **ratios(results),
        "soak": None if soak is None else dict(soak),
        "targets": TARGETS,
        "targets_met": met,
        "notes": notes(results, soak, context, met),
        "machine": dict(machine)
        if machine is not None
        else machine_info(
            **{name: version(name) for name in ("bentoml", "mlflow", "httpx")}
        ),
        **context,
    }


def notes(
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    soak: Mapping[str, Any] | None,
    context: Mapping[str, Any],
    met: Mapping[str, bool | None],
) -> str:
    """What the numbers say, in a few sentences built from them."""
    parts = []
    bento = results.get("bentoml", {})
    servers = context.get("servers", {})
    if met.get("bentoml_p99_ms_single_c8") is False:
        c8 = bento["single_c8"]
        parts.append(
            f"BentoML misses the latency target: p99 {c8['p99_ms']:.0f} ms at "
            f"concurrency 8 for one account (target "
            f"{TARGETS['bentoml_p99_ms_single_c8']:.0f} ms)."
        )
        parts.extend(_breakdown_note(servers.get("in_process", {})))
        parts.extend(_server_log_note(bento, servers.get("bentoml", {})))
        parts.extend(_floor_note(results))
    if met.get("bentoml_vs_mlflow_throughput_single_c8") is False:
        ratio = ratios(results)["bentoml_vs_mlflow_throughput_single_c8"]
        parts.append(
            f"Throughput at single_c8 is {ratio:.2f}x MLflow's (target 2x); "
            "MLflow's server computes only predict_proba, BentoML's also the SHAP "
            "reasons and the playbook per account."
        )
    if soak is not None and soak.get("skipped"):
        parts.append(
            f"The soak offered {soak['rate_per_s']:g} requests/s; the server "
            f"completed {soak['achieved_rate_per_s']:.1f}/s, so "
            f"{soak['skipped']} starts were skipped while "
            f"{soak['max_in_flight']} requests were waiting and latency is "
            "mostly queueing."
        )
    return " ".join(parts)


def _breakdown_note(in_process: Mapping[str, Any]) -> list[str]:
    parts = in_process.get("breakdown_ms")
    if not parts:
        return []
    notes = []
    for size in BREAKDOWN_SIZES:
        timed = parts.get(f"accounts_{size}")
        if not timed:
            continue
        shap = [
            f"{name.removeprefix('shap_')} {value:.1f}"
            for name, value in timed.items()
            if name.startswith("shap_")
        ]
        members = f" (SHAP per member, ms: {', '.join(shap)})" if shap else ""
        notes.append(
            f"Where the time goes, in-process, {size} account(s) in one call, "
            f"median of {BREAKDOWN_CALLS} calls: predict_accounts "
            f"{timed['predict_accounts']:.1f} ms; its parts timed on their own: "
            f"probabilities and SHAP values {timed['predict_and_explain']:.1f} ms"
            f"{members}, of which probabilities alone "
            f"{timed['predict_proba']:.1f} ms; reasons, playbook and value "
            f"{timed['reasons_playbook_value']:.1f} ms; request columns and "
            f"response (the remainder) {timed['columns_and_response']:.1f} ms."
        )
    if notes and "validate_account" in parts:
        notes.append(
            f"Validating one account's request takes "
            f"{parts['validate_account']:.2f} ms."
        )
    return notes


def _server_log_note(
    bento: Mapping[str, Mapping[str, Any]], server: Mapping[str, Any]
) -> list[str]:
    logged = server.get("server_log_ms", {}).get("single_c1", {}).get("p50_ms")
    client = bento.get("single_c1", {}).get("p50_ms")
    if not logged or not client:
        return []
    return [
        f"At concurrency 1 BentoML's access log times a request at {logged:.0f} ms "
        f"(median) and the client at {client:.0f} ms: HTTP and the load "
        f"generator add {client - logged:.0f} ms. Above concurrency 1 the "
        "requests that arrive while the model is busy are scored together in "
        "the next call (serving/batching.py)."
    ]


def _floor_note(results: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[str]:
    floor = results.get("bentoml_noop", {}).get("single_c8")
    if not floor:
        return []
    return [
        f"The floor on this machine: BentoML answering the same requests without "
        f"a model (bentoml_noop) has p99 {floor['p99_ms']:.0f} ms at concurrency "
        f"8 and serves {floor['requests_per_s']:.0f} requests/s, with the load "
        "generator on the same 2 cores."
    ]


# -- in-process ------------------------------------------------------------------


def run_in_process(
    served: Any, records: Sequence[Mapping[str, Any]], settings: RunSettings
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``predict_accounts`` called directly, one call at a time."""
    from churn_pipeline.api_schema import (  # noqa: PLC0415
        account_features_model,
        predict_accounts,
    )

    model = served.model
    features_model = account_features_model(
        model.numeric_features, model.categorical_features
    )
    validated = [
        features_model.model_validate(
            {name: record.get(name) for name in features_model.model_fields}
        )
        for record in records
    ]
    results = {}
    for scenario in IN_PROCESS_SCENARIOS:
        size = scenario.accounts_per_request
        groups = (
            [[account] for account in validated]
            if size == 1
            else batches(validated, size)
        )
        logger.info(
            "in_process %s: %d calls to cycle through", scenario.name, len(groups)
        )
        run = timed_calls(
            lambda group: predict_accounts(model, served.policy, group),
            groups,
            duration_s=settings.duration_s,
            warmup_s=settings.warmup_s,
            max_calls=settings.max_requests,
        )
        results[scenario.name] = scenario_result(run, scenario)
        _log_scenario("in_process", scenario.name, results[scenario.name])
    first = predict_accounts(model, served.policy, validated[:1])[0]
    context = {
        "breakdown_ms": breakdown(served, features_model, records),
        "first_probability": first.churn_probability,
    }
    return results, context


def timed_calls(
    call: Callable[[Any], Any],
    arguments: Sequence[Any],
    *,
    duration_s: float,
    warmup_s: float,
    max_calls: int,
) -> dict[str, Any]:
    """Call ``call`` on ``arguments`` in turn: warm-up, then a timed window.

    Returns:
        The shape :func:`benchmarks.loadgen.closed_loop` returns (an exception
        counts as an error).
    """
    errors: list[str] = []
    latencies: list[float] = []
    index = 0

    def one() -> float:
        nonlocal index
        argument = arguments[index % len(arguments)]
        index += 1
        began = time.perf_counter()
        try:
            call(argument)
        except Exception as error:  # counted and reported
            errors.append(f"{type(error).__name__}: {error}"[:300])
        return (time.perf_counter() - began) * 1000.0

    began = time.perf_counter()
    warmup = 0
    while warmup == 0 or time.perf_counter() - began < warmup_s:
        one()
        warmup += 1
    start = time.perf_counter()
    while time.perf_counter() - start < duration_s and len(latencies) < max_calls:
        latencies.append(one())
    return {
        "latencies_ms": latencies,
        "requests": len(latencies),
        "window_s": time.perf_counter() - start,
        "warmup_requests": warmup,
        "errors": len(errors),
        "error_samples": errors[:5],
    }


def breakdown(
    served: Any, features_model: Any, records: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Median ms of the parts of scoring 1 and 8 accounts in-process.

    Eight is what the service's micro-batcher scores in one call when eight
    single-account requests wait at once (concurrency 8).
    """
    from churn_pipeline.api_schema import (  # noqa: PLC0415
        account_columns,
        predict_accounts,
    )
    from churn_pipeline.scoring import score_columns  # noqa: PLC0415

    model, policy = served.model, served.policy
    fields = list(features_model.model_fields)

    def validate(record: Mapping[str, Any]) -> Any:
        return features_model.model_validate({k: record.get(k) for k in fields})

    out: dict[str, Any] = {"validate_account": _median_ms(lambda: validate(records[0]))}
    for size in BREAKDOWN_SIZES:
        accounts = [validate(record) for record in records[:size]]
        columns = account_columns(model, accounts)
        _, explanation = model.predict_and_explain(columns)
        parts: dict[str, Callable[[], Any]] = {
            "predict_accounts": lambda a=accounts: predict_accounts(model, policy, a),
            "predict_and_explain": lambda c=columns: model.predict_and_explain(c),
            "predict_proba": lambda c=columns: model.predict_proba(c),
            "score_given_explanation": lambda c=columns, e=explanation: score_columns(
                model, c, policy, explanation=e
            ),
        }
        parts.update(_member_explain_parts(model, columns))
        timed = {name: _median_ms(part) for name, part in parts.items()}
        # score_columns given the explanation = predict_proba + reasons,
        # playbook and value; predict_accounts adds predict_and_explain's extra
        # (the SHAP values), the columns and the response.
        timed["reasons_playbook_value"] = round(
            max(0.0, timed["score_given_explanation"] - timed["predict_proba"]), 3
        )
        timed["columns_and_response"] = round(
            max(
                0.0,
                timed["predict_accounts"]
                - timed["predict_and_explain"]
                - timed["reasons_playbook_value"],
            ),
            3,
        )
        out[f"accounts_{size}"] = timed
    logger.info("in_process breakdown (median ms): %s", out)
    return out


def _member_explain_parts(model: Any, columns: Any) -> dict[str, Callable[[], Any]]:
    """Each member's SHAP values on its design matrix, as ``explain`` computes them.

    Reads the ensemble's internals; an ensemble without them gives no parts.
    """
    designs_of = getattr(model, "_designs", None)
    explain_member = getattr(model, "_explain_member", None)
    if designs_of is None or explain_member is None:
        return {}
    designs = designs_of(columns)
    parts: dict[str, Callable[[], Any]] = {
        "preprocessing_all_members": lambda: designs_of(columns)
    }
    for name in model.members_:
        parts[f"shap_{name}"] = functools.partial(explain_member, name, designs[name])
    return parts


def _median_ms(part: Callable[[], Any]) -> float:
    """Median ms of ``BREAKDOWN_CALLS`` calls after one untimed call."""
    part()
    times = []
    for _ in range(BREAKDOWN_CALLS):
        began = time.perf_counter()
        part()
        times.append((time.perf_counter() - began) * 1000.0)
    return round(statistics.median(times), 3)


# -- servers -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(
    system: str, model_uri: str, port: int, workers: int = 1
) -> tuple[list[str], str]:
    """The command serving ``model_uri`` on ``port`` and its readiness path.

    BentoML takes its worker count from the environment
    (:func:`server_environment`), MLflow from the command line.
    """
    bin_dir = Path(sys.executable).parent
    host = "127.0.0.1"
    if system in ("bentoml", "bentoml_noop"):
        target = (
            "serving.service:ChurnService"
            if system == "bentoml"
            else "benchmarks.noop_service:NoopService"
        )
        command = [str(bin_dir / "bentoml"), "serve", target]
        return [*command, "--host", host, "--port", str(port)], "/readyz"
    if system == "mlflow":
        command = [str(bin_dir / "mlflow"), "models", "serve", "-m", model_uri]
        command += ["--env-manager", "local", "-h", host, "-p", str(port)]
        return [*command, "--workers", str(workers)], "/ping"
    raise ValueError(f"Unknown server {system!r}")


def server_environment(model_uri: str, workers: int = 1) -> dict[str, str]:
    """The environment every server starts with."""
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": os.environ["MLFLOW_TRACKING_URI"],
        "CHURN_MODEL_URI": model_uri,
        "CHURN_WORKERS": str(workers),  # serving.service and the no-op service
        # mlflow models serve starts `uvicorn` from PATH; this is our venv's.
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        # The registry holds only models this project trained.
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
    }
    env.pop("CHURN_API_KEY", None)  # measure the open endpoint
    return env


@dataclass
class Server:
    """A started server: its base URL, process and log file."""

    system: str
    url: str
    process: subprocess.Popen
    log: Path
    startup_s: float


@contextlib.contextmanager
def running_server(
    system: str,
    model_uri: str,
    log: Path,
    settings: RunSettings,
    environment: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """Start a server on a free port, wait until ready, stop its process group.

    ``environment`` adds to (or overrides) :func:`server_environment`'s.
    """
    port = _free_port()
    startup_timeout_s = settings.startup_timeout_s
    command, ready_path = server_command(system, model_uri, port, settings.workers)
    logger.info("Starting %s on port %d (log: %s)", system, port, log)
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT,
            env={
                **server_environment(model_uri, settings.workers),
                **(environment or {}),
            },
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # workers are forked: stop the whole group
        )
    url = f"http://127.0.0.1:{port}"
    began = time.perf_counter()
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{system} exited with code {process.returncode} before it "
                    f"was ready:\n{log.read_text()[-4000:]}"
                )
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + ready_path, timeout=2).status_code == 200:
                    break
            if time.perf_counter() - began > startup_timeout_s:
                raise RuntimeError(
                    f"{system} not ready in {startup_timeout_s:.0f} s:\n"
                    f"{log.read_text()[-4000:]}"
                )
            time.sleep(0.5)
        startup_s = time.perf_counter() - began
        logger.info("%s ready in %.1f s", system, startup_s)
        yield Server(system, url, process, log, startup_s)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


Reading = TypeVar("Reading")


def tree_readings(pid: int, read: Callable[[Any], Reading]) -> list[Reading]:
    """``read(process)`` for a process and each of its descendants (psutil).

    Processes that exit meanwhile, or may not be read, are left out: a
    server's tree changes while it runs.
    """
    import psutil  # noqa: PLC0415 (bentoml's dependency; heavy for the loadgen)

    root = psutil.Process(pid)
    readings = []
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            readings.append(read(process))
    return readings


def tree_memory_mb(pid: int) -> dict[str, Any]:
    """Resident memory of a process and its descendants (psutil, which bentoml needs).

    ``rss_mb`` counts shared pages once per process; ``pss_mb`` shares them out.
    """
    infos = tree_readings(pid, lambda process: process.memory_full_info())
    rss = sum(info.rss for info in infos)
    pss = sum(getattr(info, "pss", 0) for info in infos)
    return {
        "rss_mb": round(rss / 2**20, 1),
        "pss_mb": round(pss / 2**20, 1) if pss else None,
        "processes": len(infos),
    }


def connections_per_process(pid: int, port: int) -> list[int]:
    """Established connections to ``port`` per process of a server's tree.

    Each keep-alive connection stays with the worker that accepted it, so this
    shows how evenly the clients were shared out. Largest first; processes
    holding none are left out.
    """
    import psutil  # noqa: PLC0415

    counts = [
        sum(
            1
            for c in held
            if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
        )
        for held in tree_readings(
            pid, lambda process: process.net_connections(kind="tcp")
        )
    ]
    return sorted((n for n in counts if n), reverse=True)


# BentoML's access log: "... path=/predict,...) (status=200,...) 401.234ms (trace=..."
_ACCESS_LOG = re.compile(
    r"path=(?P<path>[^,)]+)[^)]*\) \(status=(?P<status>\d+)[^)]*\) "
    r"(?P<ms>[0-9.]+)ms"
)


def server_log_latencies(text: str, path: str = "/predict") -> list[float]:
    """Per-request times (ms) BentoML's access log gives for ``path``."""
    return [
        float(match["ms"])
        for match in _ACCESS_LOG.finditer(text)
        if match["path"] == path
    ]


@contextlib.contextmanager
def loadgen_pool() -> Iterator[concurrent.futures.ProcessPoolExecutor]:
    """One separate process generating load (spawned: no inherited model)."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        yield pool


def run_server_scenarios(
    system: str,
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    model_uri: str,
    settings: RunSettings,
    pool: concurrent.futures.Executor,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every HTTP scenario against one freshly started server."""
    path = "/invocations" if system == "mlflow" else "/predict"
    results: dict[str, Any] = {}
    log_ms: dict[str, Any] = {}
    spread: dict[str, list[int]] = {}
    steal: dict[str, float | None] = {}
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_server(
            system, model_uri, Path(scratch) / "server.log", settings
        ) as server,
    ):
        context: dict[str, Any] = {
            "startup_s": round(server.startup_s, 1),
            "memory_after_ready": tree_memory_mb(server.process.pid),
        }
        single = request_bodies(system, records, columns, 1)
        answer = httpx.post(
            server.url + path,
            content=single[0],
            headers=loadgen.JSON_HEADERS,
            timeout=REQUEST_TIMEOUT_S,
        )
        answer.raise_for_status()
        context["first_probability"] = first_churn_probability(system, answer.json())
        if system == "bentoml":
            context["model_version_answered"] = answer.json().get("model_version")
        bodies = {1: single}
        for scenario in SCENARIOS:
            size = scenario.accounts_per_request
            if size not in bodies:
                bodies[size] = request_bodies(system, records, columns, size)
            log_offset = server.log.stat().st_size
            logger.info(
                "%s %s: %d clients, %d account(s) per request",
                system,
                scenario.name,
                scenario.concurrency,
                size,
            )
            counters = cpu_counters()
            running = pool.submit(
                loadgen.closed_loop,
                server.url + path,
                bodies[size],
                concurrency=scenario.concurrency,
                duration_s=settings.duration_s,
                warmup_s=settings.warmup_s,
                max_requests=settings.max_requests,
                timeout_s=REQUEST_TIMEOUT_S,
            )
            # Mid-window: which worker holds each client's keep-alive connection.
            time.sleep(settings.warmup_s + settings.duration_s / 2)
            spread[scenario.name] = connections_per_process(
                server.process.pid, urllib.parse.urlsplit(server.url).port
            )
            run = running.result()
            steal[scenario.name] = steal_percent(counters, cpu_counters())
            results[scenario.name] = scenario_result(run, scenario)
            _log_scenario(system, scenario.name, results[scenario.name])
            if system == "bentoml":
                with server.log.open() as handle:
                    handle.seek(log_offset)
                    logged = server_log_latencies(handle.read())
                log_ms[scenario.name] = {
                    "requests": len(logged),
                    **{
                        k: v
                        for k, v in latency_summary(logged).items()
                        if k in ("p50_ms", "p99_ms")
                    },
                }
        context["memory_after_scenarios"] = tree_memory_mb(server.process.pid)
        context["connections_per_worker"] = spread
        context["connections_per_worker_is"] = (
            "established client connections held by each server process, largest "
            "first, sampled in the middle of each scenario's window"
        )
        context["cpu_steal_percent"] = steal
        context["cpu_steal_percent_is"] = (
            "share of the machine's CPU time the hypervisor gave to other VMs "
            "during each scenario (warm-up included); latency on a shared VM "
            "moves with it"
        )
        context["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        if log_ms:
            context["server_log_ms"] = log_ms
            context["server_log_ms_is"] = (
                "BentoML's access-log time per /predict request, warm-up and "
                "drain included"
            )
    return results, context


def run_soak(
    records: Sequence[Mapping[str, Any]],
    model_uri: str,
    settings: RunSettings,
    pool: concurrent.futures.Executor,
    *,
    duration_s: float,
    rate: float,
    max_in_flight: int,
) -> dict[str, Any]:
    """Steady single-account load on a fresh BentoML server; memory over time."""
    bodies = request_bodies("bentoml", records, [], 1)
    with (
        tempfile.TemporaryDirectory() as scratch,
        running_server(
            "bentoml", model_uri, Path(scratch) / "server.log", settings
        ) as server,
    ):
        pid = server.process.pid
        logger.info(
            "Soak: %g single-account requests/s for %.0f s (at most %d waiting)",
            rate,
            duration_s,
            max_in_flight,
        )
        began = time.perf_counter()
        samples = [{"t_s": 0.0, **tree_memory_mb(pid)}]
        future = pool.submit(
            loadgen.open_loop,
            server.url + "/predict",
            bodies,
            rate=rate,
            duration_s=duration_s,
            max_in_flight=max_in_flight,
            interval_s=max(duration_s / SOAK_SAMPLES, 1.0),
            timeout_s=REQUEST_TIMEOUT_S,
        )
        every = max(duration_s / SOAK_SAMPLES, 1.0)
        while True:
            try:
                run = future.result(timeout=every)
                break
            except concurrent.futures.TimeoutError:
                sample = tree_memory_mb(pid)
                samples.append({"t_s": round(time.perf_counter() - began, 1), **sample})
                logger.info(
                    "Soak at %.0f s: server RSS %.0f MB",
                    samples[-1]["t_s"],
                    sample["rss_mb"],
                )
        samples.append(
            {"t_s": round(time.perf_counter() - began, 1), **tree_memory_mb(pid)}
        )
    return soak_result(
        run, samples, rate=rate, duration_s=duration_s, max_in_flight=max_in_flight
    )


def soak_result(
    run: Mapping[str, Any],
    samples: Sequence[Mapping[str, Any]],
    *,
    rate: float,
    duration_s: float,
    max_in_flight: int,
) -> dict[str, Any]:
    """The soak's summary: errors, requests, latencies and memory over time."""
    summary = latency_summary(run["latencies_ms"])
    wall = run["wall_s"]
    return {
        "duration_s": duration_s,
        "rate_per_s": rate,
        "accounts_per_request": 1,
        "max_in_flight": max_in_flight,
        "offered": run["offered"],
        "requests": run["requests"],
        "skipped": run["skipped"],
        "achieved_rate_per_s": round(run["requests"] / wall, 3) if wall else None,
        "wall_s": round(wall, 1),
        "errors": run["errors"],
        "statuses": run["statuses"],
        **({"error_samples": run["error_samples"]} if run["error_samples"] else {}),
        **{k: summary[k] for k in ("p50_ms", "p95_ms", "p99_ms", "p999_ms", "max_ms")},
        "start_rss_mb": samples[0]["rss_mb"],
        "end_rss_mb": samples[-1]["rss_mb"],
        "rss_growth_mb": round(samples[-1]["rss_mb"] - samples[0]["rss_mb"], 1),
        "samples": list(samples),
        "intervals": run["intervals"],
    }


# -- context -------------------------------------------------------------------------


def _code() -> dict[str, Any]:
    """Which commit ran, and whether the serving code had uncommitted changes."""

    def git(*command: str) -> str:
        done = subprocess.run(
            ["git", *command], check=False, cwd=PROJECT, capture_output=True, text=True
        )
        return done.stdout.strip()

    return {
        "git_commit": git("rev-parse", "HEAD"),
        "uncommitted_in_serving_and_src": git(
            "status", "--porcelain", "serving", "src"
        ).splitlines(),
    }


def _log_scenario(system: str, name: str, result: Mapping[str, Any]) -> None:
    logger.info(
        "%s %s: p50 %s ms, p99 %s ms, %.2f requests/s, %.1f accounts/s, %d errors "
        "(%d requests)",
        system,
        name,
        result["p50_ms"],
        result["p99_ms"],
        result["requests_per_s"] or 0.0,
        result["accounts_per_s"] or 0.0,
        result["errors"],
        result["requests"],
    )


def _log_summary(result: Mapping[str, Any], path: Path) -> None:
    for system in SYSTEMS:
        for name, scenario in (result.get(system) or {}).items():
            _log_scenario(system, name, scenario)
    soak = result.get("soak")
    if soak:
        logger.info(
            "soak: %d requests, %d errors, p99 %s ms, RSS %.0f -> %.0f MB",
            soak["requests"],
            soak["errors"],
            soak["p99_ms"],
            soak["start_rss_mb"],
            soak["end_rss_mb"],
        )
    logger.info("Written to %s", path)
    missed = [name for name, ok in result["targets_met"].items() if ok is False]
    if missed:
        logger.warning("Targets missed: %s (targets %s)", missed, result["targets"])
    if result.get("notes"):
        logger.info("Notes: %s", result["notes"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
