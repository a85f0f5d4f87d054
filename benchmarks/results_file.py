"""Writing a benchmark's results file; the serving benchmark's ratios and targets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# name: (comparison, bound). Throughput ratios are requests/s of a by-id or
# BentoML scenario over the reference in the same run.
TARGETS: dict[str, tuple[str, float]] = {
    "by_id_vs_full_vector_throughput_c8_sqlite": (">=", 0.5),
    "by_id_vs_full_vector_throughput_c8_redis": (">=", 0.5),
    "by_id_vs_mlflow_throughput_c8_sqlite": (">=", 2.0),
    "by_id_vs_mlflow_throughput_c8_redis": (">=", 2.0),
    "bentoml_vs_mlflow_throughput_single_c8": (">=", 2.0),
    "bentoml_p99_ms_single_c8": ("<=", 15.0),
    "bentoml_errors": ("<=", 0),
    "soak_errors": ("<=", 0),
    "probability_max_abs_difference": ("<=", 1e-9),
}
# Which served system reads which online store.
STORES = {"sqlite": "bentoml", "redis": "bentoml_redis"}


def write_json(path: Path, result: Mapping[str, Any]) -> None:
    """Write ``result`` atomically (a partial file never replaces a good one).

    NaN is refused: it is not JSON, and a results file must parse anywhere.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    partial.replace(path)


def _get(results: Mapping[str, Any], system: str, scenario: str, key: str) -> Any:
    return results.get(system, {}).get(scenario, {}).get(key)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def ratios(results: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    """Throughput ratios of the run (``None`` where a side was not measured).

    By id against full vectors on the same server and against MLflow's server
    with full vectors at concurrency 8; BentoML against MLflow per scenario
    (accounts/s); BentoML's single-account p50 against the in-process floor.
    """
    out: dict[str, float | None] = {}
    mlflow_c8 = _get(results, "mlflow", "single_c8", "requests_per_s")
    for store, system in STORES.items():
        by_id = _get(results, system, "by_id_c8", "requests_per_s")
        full = _get(results, system, "single_c8", "requests_per_s")
        out[f"by_id_vs_full_vector_throughput_c8_{store}"] = _ratio(by_id, full)
        out[f"by_id_vs_mlflow_throughput_c8_{store}"] = _ratio(by_id, mlflow_c8)
    for scenario in ("single_c1", "single_c8", "batch100_c8"):
        out[f"bentoml_vs_mlflow_throughput_{scenario}"] = _ratio(
            _get(results, "bentoml", scenario, "accounts_per_s"),
            _get(results, "mlflow", scenario, "accounts_per_s"),
        )
    out["bentoml_vs_in_process_p50_single_c1"] = _ratio(
        _get(results, "bentoml", "single_c1", "p50_ms"),
        _get(results, "in_process", "single_c1", "p50_ms"),
    )
    return out


def lookup_share(
    results: Mapping[str, Mapping[str, Any]],
    store_read: Mapping[str, Mapping[str, float]],
) -> dict[str, Any]:
    """How much of a by-id request's latency the store lookup takes, per store.

    Over HTTP: (by-id p50 - full-vector p50) / by-id p50, same account, same
    concurrency, same server. In-process: the p50 of
    ``OnlineFeatureReader.read`` of one id over the by-id p50 at concurrency 1.
    """
    out: dict[str, Any] = {}
    for store, system in STORES.items():
        for concurrency in (1, 8):
            by_id = _get(results, system, f"by_id_c{concurrency}", "p50_ms")
            full = _get(results, system, f"single_c{concurrency}", "p50_ms")
            if by_id and full is not None:
                out[f"{store}_c{concurrency}"] = {
                    "by_id_p50_ms": by_id,
                    "full_vector_p50_ms": full,
                    "difference_ms": round(by_id - full, 3),
                    "share_of_by_id_p50": round((by_id - full) / by_id, 3),
                }
        read = store_read.get(store)
        by_id_c1 = _get(results, system, "by_id_c1", "p50_ms")
        if read:
            out[f"{store}_store_read_in_process"] = {
                **read,
                "share_of_by_id_c1_p50": _ratio(read["p50_ms"], by_id_c1),
            }
    return out


def same_answer(
    servers: Mapping[str, Mapping[str, Any]], scored_probability: float
) -> dict[str, Any]:
    """Every churn probability the run got for the account, and their spread."""
    values = {"daily_scores": scored_probability}
    for system, context in servers.items():
        for kind, value in context.get("churn_probability", {}).items():
            values[f"{system}_{kind}"] = value
    spread = max(values.values()) - min(values.values())
    return {"churn_probability": values, "max_abs_difference": spread}


def check_targets(measured: Mapping[str, float | None]) -> dict[str, Any]:
    """Each target with its measured value and ``met`` (``None``: not measured)."""
    out = {}
    for name, (comparison, bound) in TARGETS.items():
        value = measured.get(name)
        met = None
        if value is not None:
            met = value >= bound if comparison == ">=" else value <= bound
        key = "at_least" if comparison == ">=" else "at_most"
        out[name] = {"measured": value, key: bound, "met": met}
    return out


def result_document(
    results: Mapping[str, Mapping[str, Any]],
    *,
    servers: Mapping[str, Mapping[str, Any]],
    store_read: Mapping[str, Mapping[str, float]],
    scored: Mapping[str, Any],
    context: Mapping[str, Any],
) -> dict[str, Any]:
    """The serving benchmark's JSON: scenarios, ratios, lookup share, targets."""
    run_ratios = ratios(results)
    agreement = same_answer(servers, scored["probability"])
    soak = servers.get("bentoml", {}).get("soak")
    bento = [results[s] for s in ("bentoml", "bentoml_redis") if s in results]
    measured = {
        **run_ratios,
        "bentoml_p99_ms_single_c8": _get(results, "bentoml", "single_c8", "p99_ms"),
        "bentoml_errors": (
            sum(r["errors"] for runs in bento for r in runs.values()) if bento else None
        ),
        "soak_errors": None if soak is None else soak["errors"],
        "probability_max_abs_difference": agreement["max_abs_difference"],
    }
    return {
        "benchmark": "serving",
        **context,
        "results": {system: dict(runs) for system, runs in results.items()},
        "ratios": run_ratios,
        "lookup_share": lookup_share(results, store_read),
        "same_answer": {
            **agreement,
            "daily_scores_model_version": scored["model_version"],
        },
        "targets": check_targets(measured),
        "soak": soak_summary(soak),
        "servers": {system: dict(context) for system, context in servers.items()},
    }


def soak_summary(soak: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The soak's errors, latency and the server's memory at its start and end."""
    if not soak:
        return None
    keys = ("rate_per_s", "sent", "requests", "errors", "p50_ms", "p99_ms", "max_ms")
    first, last = soak["samples"][0]["rss_mb"], soak["samples"][-1]["rss_mb"]
    return {
        **{key: soak[key] for key in keys},
        "start_rss_mb": first,
        "end_rss_mb": last,
        "rss_growth_mb": round(last - first, 1),
        "details": "servers.bentoml.soak",
    }


def summary_table(result: Mapping[str, Any]) -> str:
    """The scenarios, ratios and targets of a serving result, as Markdown."""
    lines = [
        "| system | scenario | p50 ms | p99 ms | requests/s | accounts/s | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for system, runs in result["results"].items():
        for name, run in runs.items():
            lines.append(
                f"| {system} | {name} | {run['p50_ms']} | {run['p99_ms']} | "
                f"{run['requests_per_s']} | {run['accounts_per_s']} | "
                f"{run['errors']} |"
            )
    lines += ["", "| target | measured | bound | met |", "|---|---:|---:|---|"]
    for name, target in result["targets"].items():
        bound = target.get("at_least", target.get("at_most"))
        sign = ">=" if "at_least" in target else "<="
        lines.append(
            f"| {name} | {target['measured']} | {sign} {bound} | {target['met']} |"
        )
    return "\n".join(lines)
