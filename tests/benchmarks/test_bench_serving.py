"""The serving benchmark's pure parts: bodies, ratios, lookup share, targets.

No server is started here; the benchmark itself runs with ``make bench-serving``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import pandas as pd
import pytest

from benchmarks import ab_serving, machine, servers, serving_inputs
from benchmarks import bench_serving as bench
from benchmarks import results_file as results

ACCOUNT = {"account_id": "A1", "mrr": 99.0, "plan": "pro", "seats": None}


def _inputs() -> serving_inputs.Inputs:
    batch = [
        {**ACCOUNT, "account_id": f"A{i}"} for i in range(1, serving_inputs.BATCH + 1)
    ]
    return serving_inputs.Inputs(
        served=SimpleNamespace(uri="models:/m@champion", version="3"),
        columns=["mrr", "plan", "seats"],
        account=ACCOUNT,
        batch=batch,
        scored={"probability": 0.25, "model_version": "3"},
    )


def _run(rps: float, p50: float, p99: float | None = None, errors: int = 0) -> dict:
    return {
        "requests_per_s": rps,
        "accounts_per_s": rps,
        "p50_ms": p50,
        "p99_ms": p99 if p99 is not None else p50 * 2,
        "errors": errors,
    }


RESULTS = {
    "in_process": {"single_c1": _run(500, 2.0)},
    "bentoml": {
        "single_c1": _run(200, 4.0),
        "single_c8": _run(600, 12.0, p99=20.0),
        "batch100_c8": {**_run(25, 300.0), "accounts_per_s": 2500},
        "by_id_c1": _run(160, 5.0),
        "by_id_c8": _run(450, 15.0),
    },
    "bentoml_redis": {
        "single_c1": _run(190, 4.0),
        "single_c8": _run(580, 12.0),
        "by_id_c1": _run(150, 5.0),
        "by_id_c8": _run(250, 16.0, errors=1),
    },
    "mlflow": {
        "single_c1": _run(40, 22.0),
        "single_c8": _run(100, 70.0),
        "batch100_c8": {**_run(40, 200.0), "accounts_per_s": 4000},
    },
}


def test_records_turn_nan_into_null_and_numpy_into_python() -> None:
    frame = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "mrr": np.array([10.5, np.nan]),
            "seats": np.array([3, 4], dtype="int64"),
            "plan": ["pro", None],
            "as_of_date": pd.Timestamp("2025-12-31"),
        }
    )
    records = serving_inputs.records_from_frame(frame, ["mrr", "seats", "plan"])
    assert records == [
        {"account_id": "A1", "mrr": 10.5, "seats": 3, "plan": "pro"},
        {"account_id": "A2", "mrr": None, "seats": 4, "plan": None},
    ]
    assert type(records[0]["seats"]) is int


def test_bodies_by_id_full_vector_and_for_mlflow() -> None:
    inputs = _inputs()
    single, by_id, batch = bench.SINGLE[0], bench.BY_ID[1], bench.FULL[2]
    assert json.loads(serving_inputs.request_body("bentoml", single, inputs)) == {
        "accounts": [ACCOUNT]
    }
    assert json.loads(serving_inputs.request_body("bentoml_redis", by_id, inputs)) == {
        "accounts": [{"account_id": "A1"}]
    }
    assert len(
        json.loads(serving_inputs.request_body("bentoml", batch, inputs))["accounts"]
    ) == (serving_inputs.BATCH)
    assert json.loads(serving_inputs.request_body("mlflow", single, inputs)) == {
        "dataframe_split": {
            "columns": ["mrr", "plan", "seats"],
            "data": [[99.0, "pro", None]],
        }
    }
    with pytest.raises(ValueError, match="full vectors only"):
        serving_inputs.request_body("mlflow", by_id, inputs)


def test_every_store_gets_by_id_and_full_vector_scenarios_at_c1_and_c8() -> None:
    names = {system: [s.name for s in runs] for system, runs in bench.SCENARIOS.items()}
    assert names["bentoml"] == [
        "single_c1", "by_id_c1", "single_c8", "by_id_c8", "batch100_c8"
    ]  # fmt: skip
    assert names["bentoml_redis"] == ["single_c1", "by_id_c1", "single_c8", "by_id_c8"]
    assert names["mlflow"] == ["single_c1", "single_c8", "batch100_c8"]
    assert not any(s.by_id for s in bench.SCENARIOS["mlflow"])


def test_by_id_scenarios_take_turns_with_their_full_vector_reference() -> None:
    for system in ("bentoml", "bentoml_redis"):
        pairs = [[s.name for s in group] for group in bench.GROUPS[system][:2]]
        assert pairs == [["single_c1", "by_id_c1"], ["single_c8", "by_id_c8"]]
    assert all(len(group) == 1 for group in bench.GROUPS["mlflow"])


def test_churn_probability_of_each_answer() -> None:
    bento = {"predictions": [{"churn_probability": 0.4}, {"churn_probability": 0.1}]}
    assert serving_inputs.churn_probability("bentoml_redis", bento) == 0.4
    assert (
        serving_inputs.churn_probability("mlflow", {"predictions": [[0.7, 0.3]]}) == 0.3
    )
    assert serving_inputs.churn_probability("mlflow", {"predictions": [0.3]}) == 0.3


def test_server_commands() -> None:
    mlflow = servers.server_command("mlflow", "models:/m@champion", 5001, workers=2)
    assert mlflow[1:5] == ["models", "serve", "-m", "models:/m@champion"]
    assert " --workers 2 " in f" {' '.join(mlflow)} "
    assert mlflow[-2:] == ["-p", "5001"]
    for system, target in servers.SERVICES.items():
        command = servers.server_command(system, "models:/m@champion", 3001, workers=2)
        assert command[1:3] == ["serve", target]
        assert command[-4:] == ["--host", "127.0.0.1", "--port", "3001"]


@pytest.fixture
def httpx_level() -> Iterator[None]:
    """httpx's log level as it was before the test."""
    level = logging.getLogger("httpx").level
    yield
    logging.getLogger("httpx").setLevel(level)


@pytest.mark.parametrize(("workers", "expected"), [(3, "3"), (None, "7")])
def test_a_serving_run_sets_the_workers_and_keeps_a_given_tracking_uri(
    monkeypatch: pytest.MonkeyPatch,
    httpx_level: None,
    workers: int | None,
    expected: str,
) -> None:
    monkeypatch.setenv("CHURN_WORKERS", "7")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")

    servers.prepare_serving_run(workers)

    assert os.environ["CHURN_WORKERS"] == expected
    assert os.environ["MLFLOW_TRACKING_URI"] == "sqlite:///elsewhere.db"
    assert logging.getLogger("httpx").level == logging.WARNING


def test_a_serving_run_reads_the_projects_store_by_default(
    monkeypatch: pytest.MonkeyPatch, httpx_level: None
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    servers.prepare_serving_run(None)

    store = machine.PROJECT / "mlflow.db"
    assert os.environ["MLFLOW_TRACKING_URI"] == f"sqlite:///{store}"


@pytest.mark.parametrize("module", [bench, ab_serving])
def test_both_serving_benchmarks_take_the_same_input_arguments(module) -> None:
    args = module._parser().parse_args(
        ["--model-uri", "models:/m/2", "--data", "/d", "--account", "A9"]
    )

    assert (args.model_uri, args.data, args.account) == ("models:/m/2", "/d", "A9")


def test_scenario_result_adds_accounts_per_second() -> None:
    run = {"requests_per_s": 12.5, "p50_ms": 3.0}
    out = serving_inputs.scenario_result(run, bench.FULL[2])
    assert out["accounts_per_s"] == 1250.0
    assert out["concurrency"] == 8
    assert out["body"] == "full feature vectors"
    assert (
        serving_inputs.scenario_result(run, bench.BY_ID[0])["body"]
        == "account ids alone"
    )


def test_ratios_compare_by_id_with_full_vectors_and_mlflow() -> None:
    ratios = results.ratios(RESULTS)
    assert ratios["by_id_vs_full_vector_throughput_c8_sqlite"] == 0.75  # 450 / 600
    assert ratios["by_id_vs_full_vector_throughput_c8_redis"] == round(250 / 580, 3)
    assert ratios["by_id_vs_mlflow_throughput_c8_sqlite"] == 4.5
    assert ratios["by_id_vs_mlflow_throughput_c8_redis"] == 2.5
    assert ratios["bentoml_vs_mlflow_throughput_single_c8"] == 6.0
    assert ratios["bentoml_vs_mlflow_throughput_batch100_c8"] == 0.625
    assert ratios["bentoml_vs_in_process_p50_single_c1"] == 2.0


def test_ratios_are_none_without_a_baseline() -> None:
    ratios = results.ratios({"bentoml": RESULTS["bentoml"]})
    assert ratios["by_id_vs_mlflow_throughput_c8_sqlite"] is None
    assert ratios["by_id_vs_full_vector_throughput_c8_redis"] is None
    assert ratios["by_id_vs_full_vector_throughput_c8_sqlite"] == 0.75


def test_lookup_share_over_http_and_in_process() -> None:
    share = results.lookup_share(
        RESULTS, {"sqlite": {"p50_ms": 0.25, "p99_ms": 1.0, "calls": 10}}
    )
    assert share["sqlite_c1"] == {
        "by_id_p50_ms": 5.0,
        "full_vector_p50_ms": 4.0,
        "difference_ms": 1.0,
        "share_of_by_id_p50": 0.2,
    }
    assert share["sqlite_c8"]["share_of_by_id_p50"] == 0.2  # (15 - 12) / 15
    assert share["redis_c8"]["difference_ms"] == 4.0
    assert share["sqlite_store_read_in_process"]["share_of_by_id_c1_p50"] == 0.05
    assert "redis_store_read_in_process" not in share


def test_targets_met_missed_and_not_measured() -> None:
    checked = results.check_targets(
        {
            "by_id_vs_full_vector_throughput_c8_sqlite": 0.75,
            "by_id_vs_full_vector_throughput_c8_redis": 0.43,
            "bentoml_p99_ms_single_c8": 15.0,
            "bentoml_errors": 1,
        }
    )
    assert checked["by_id_vs_full_vector_throughput_c8_sqlite"] == {
        "measured": 0.75,
        "at_least": 0.5,
        "met": True,
    }
    assert checked["by_id_vs_full_vector_throughput_c8_redis"]["met"] is False
    assert checked["bentoml_p99_ms_single_c8"] == {
        "measured": 15.0,
        "at_most": 15.0,
        "met": True,
    }
    assert checked["bentoml_errors"]["met"] is False
    assert checked["soak_errors"] == {"measured": None, "at_most": 0, "met": None}
    assert set(checked) == set(results.TARGETS)


def test_same_answer_spans_every_system_and_the_scored_list() -> None:
    servers = {
        "bentoml": {"churn_probability": {"full_vector": 0.25, "by_id": 0.25}},
        "mlflow": {"churn_probability": {"full_vector": 0.25 + 1e-12}},
    }
    agreement = results.same_answer(servers, 0.25)
    assert set(agreement["churn_probability"]) == {
        "daily_scores",
        "bentoml_full_vector",
        "bentoml_by_id",
        "mlflow_full_vector",
    }
    assert agreement["max_abs_difference"] == pytest.approx(1e-12)


def test_result_document_and_its_table(tmp_path: Path) -> None:
    soak = {
        "rate_per_s": 20.0,
        "sent": 40,
        "requests": 40,
        "errors": 0,
        "p50_ms": 4.0,
        "p99_ms": 9.0,
        "max_ms": 11.0,
        "samples": [{"t_s": 0.0, "rss_mb": 1000.0}, {"t_s": 2.0, "rss_mb": 1001.5}],
    }
    servers = {
        "bentoml": {"churn_probability": {"by_id": 0.25}, "soak": soak},
        "bentoml_redis": {"churn_probability": {"by_id": 0.3}},
    }
    document = results.result_document(
        RESULTS,
        servers=servers,
        store_read={},
        scored={"probability": 0.25, "model_version": "3"},
        context={"date": "2026-01-01", "model_version": "3"},
    )
    path = tmp_path / "serving.json"
    results.write_json(path, document)
    loaded = json.loads(path.read_text())
    assert loaded["results"]["bentoml"]["by_id_c8"]["requests_per_s"] == 450
    targets = loaded["targets"]
    assert targets["bentoml_errors"]["measured"] == 1  # the Redis server's error
    assert targets["bentoml_errors"]["met"] is False
    assert targets["probability_max_abs_difference"]["met"] is False  # 0.3 vs 0.25
    assert targets["bentoml_p99_ms_single_c8"]["measured"] == 20.0
    assert loaded["soak"]["rss_growth_mb"] == 1.5
    assert loaded["soak"]["errors"] == 0
    table = results.summary_table(loaded)
    assert "| bentoml_redis | by_id_c8 | 16.0 |" in table
    assert "| by_id_vs_mlflow_throughput_c8_sqlite | 4.5 | >= 2.0 | True |" in table


def test_results_file_refuses_nan(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        results.write_json(tmp_path / "x.json", {"p50_ms": math.nan})
    assert not (tmp_path / "x.json").exists()


def test_a_probe_reads_the_probability_or_shows_the_server_log(
    tmp_path: Path, monkeypatch
) -> None:
    log = tmp_path / "server.log"
    log.write_text("Traceback ...\nKeyError: 'lightgbm'\n")
    answers = iter(
        [
            httpx.Response(200, json={"predictions": [[0.6, 0.4]]}),
            httpx.Response(500, text="Internal Server Error"),
        ]
    )
    monkeypatch.setattr(bench.httpx, "post", lambda *args, **kwargs: next(answers))
    assert bench._probe("mlflow", "http://h/invocations", b"{}", log) == 0.4
    with pytest.raises(RuntimeError, match=r"(?s)answered 500.*KeyError: 'lightgbm'"):
        bench._probe("mlflow", "http://h/invocations", b"{}", log)


def test_the_code_that_ran_is_recorded() -> None:
    code = machine.code_version()
    assert set(code) == {"git_commit", "uncommitted"}
    assert isinstance(code["uncommitted"], list)


def test_timed_calls_time_each_call_after_the_warm_up() -> None:
    calls: list[int] = []
    run = bench.timed_calls(lambda: calls.append(1), warmup_s=0.02, duration_s=0.05)
    assert run["requests"] > 0
    assert len(calls) > run["requests"]  # the untimed first call and the warm-up
    assert run["errors"] == 0
    assert run["p50_ms"] < 5
