"""The serving benchmark's pure parts: summaries, bodies, the JSON document.

No server is started here; the benchmark itself runs with ``make bench-serving``.
"""

from __future__ import annotations

import json
import math
import os
import socket

import numpy as np
import pandas as pd
import pytest

from benchmarks import bench_serving as bench
from benchmarks import loadgen


def test_percentile_matches_numpy():
    values = [12.0, 3.0, 7.5, 1.0, 40.0, 9.0, 2.5]
    for q in (0, 1, 25, 50, 95, 99, 100):
        assert loadgen.percentile(values, q) == pytest.approx(np.percentile(values, q))


def test_percentile_rejects_empty_and_out_of_range():
    with pytest.raises(ValueError, match="No values"):
        loadgen.percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        loadgen.percentile([1.0], 101)


def test_latency_summary_of_a_small_list():
    summary = loadgen.latency_summary([float(ms) for ms in range(1, 101)])
    assert summary == {
        "p50_ms": 50.5,
        "p95_ms": 95.05,
        "p99_ms": 99.01,
        "p999_ms": 99.901,
        "mean_ms": 50.5,
        "max_ms": 100.0,
    }
    assert set(loadgen.latency_summary([])) == set(summary)
    assert all(v is None for v in loadgen.latency_summary([]).values())


def test_tally_counts_non_2xx_and_transport_errors():
    tally = loadgen._Tally()
    assert tally.record(200)
    assert tally.record(204)
    assert not tally.record(400, "bad field")
    assert not tally.record(None, "ConnectError")
    out = tally.as_dict()
    assert out["errors"] == 2
    assert out["statuses"] == {"200": 1, "204": 1, "400": 1, "transport_error": 1}
    assert out["error_samples"] == ["400: bad field", "None: ConnectError"]


def test_intervals_bucket_by_completion_time():
    done = [(0.5, 10.0, True), (1.5, 20.0, True), (1.7, 30.0, False)]
    intervals = loadgen._intervals(done, 1.0)
    assert [i["t_end_s"] for i in intervals] == [1.0, 2.0]
    assert [i["requests"] for i in intervals] == [1, 2]
    assert [i["errors"] for i in intervals] == [0, 1]
    assert intervals[1]["p50_ms"] == 25.0


def test_scenario_result_throughput_and_percentiles():
    run = {
        "latencies_ms": [10.0, 20.0, 30.0, 40.0],
        "requests": 4,
        "window_s": 2.0,
        "errors": 1,
        "warmup_requests": 3,
        "statuses": {"200": 6, "500": 1},
        "error_samples": ["500: boom"],
    }
    out = bench.scenario_result(run, bench.Scenario("batch100_c8", 100, 8))
    assert out["requests_per_s"] == 2.0
    assert out["accounts_per_s"] == 200.0
    assert out["p50_ms"] == 25.0
    assert out["p99_ms"] == pytest.approx(39.7)
    assert out["errors"] == 1
    assert out["duration_s"] == 2.0
    assert out["concurrency"] == 8
    assert out["warmup_requests"] == 3
    assert out["error_samples"] == ["500: boom"]


def test_records_from_frame_turns_nan_into_null_and_numpy_into_python():
    frame = pd.DataFrame(
        {
            "account_id": ["A1", "A2"],
            "as_of_date": pd.to_datetime(["2025-12-31", "2025-12-31"]),
            "logins_30d": np.array([3.0, np.nan]),
            "seats": np.array([2, 5], dtype="int64"),
            "plan": ["pro", "basic"],
        }
    )
    records = bench.records_from_frame(frame, ["logins_30d", "seats", "plan"])
    assert records == [
        {"account_id": "A1", "logins_30d": 3.0, "seats": 2, "plan": "pro"},
        {"account_id": "A2", "logins_30d": None, "seats": 5, "plan": "basic"},
    ]
    assert type(records[0]["seats"]) is int
    json.dumps(records, allow_nan=False)


RECORDS = [
    {"account_id": f"A{i}", "logins_30d": float(i), "plan": "pro"} for i in range(5)
]


def test_bodies_for_bentoml_and_mlflow():
    assert bench.bentoml_body(RECORDS[:2]) == {"accounts": RECORDS[:2]}
    body = bench.mlflow_body(RECORDS[:2], ["logins_30d", "plan"])
    assert body == {
        "dataframe_split": {
            "columns": ["logins_30d", "plan"],
            "data": [[0.0, "pro"], [1.0, "pro"]],
        }
    }


def test_request_bodies_are_encoded_per_system():
    bento = bench.request_bodies("bentoml", RECORDS, ["logins_30d"], 2)
    assert [len(json.loads(b)["accounts"]) for b in bento] == [2, 2]
    mlflow = bench.request_bodies("mlflow", RECORDS, ["logins_30d"], 1)
    assert len(mlflow) == 5
    assert json.loads(mlflow[4])["dataframe_split"]["data"] == [[4.0]]
    with pytest.raises(ValueError, match="in_process"):
        bench.request_bodies("in_process", RECORDS, [], 1)


def test_encode_refuses_nan():
    assert bench.encode({"a": [1, None]}) == b'{"a":[1,null]}'
    with pytest.raises(ValueError, match="JSON"):
        bench.encode({"a": math.nan})


def test_batches_are_full_and_consecutive():
    assert bench.batches(RECORDS, 2) == [RECORDS[0:2], RECORDS[2:4]]
    with pytest.raises(ValueError, match="at least 6"):
        bench.batches(RECORDS, 6)


def test_first_churn_probability_of_each_answer():
    bento = {"predictions": [{"account_id": "A1", "churn_probability": 0.2}]}
    assert bench.first_churn_probability("bentoml", bento) == 0.2
    mlflow = {"predictions": [[0.8, 0.2], [0.9, 0.1]]}
    assert bench.first_churn_probability("mlflow", mlflow) == 0.2
    same = bench.same_answer("A1", {"bentoml": 0.2, "mlflow": 0.2 + 1e-12})
    assert same["equal_to_1e-9"]


def test_server_log_latencies_parse_bentoml_access_lines():
    text = (
        "2026-11-22T14:41:52+0000 [INFO] [entry_service:ChurnService:1] "
        "127.0.0.1:41476 (scheme=http,method=POST,path=/predict,type=application/"
        "json,length=4223) (status=200,type=application/json,length=1090) "
        "551.176ms (trace=dbf,span=89b,sampled=0,service.name=ChurnService)\n"
        "2026-11-22T14:41:53+0000 [INFO] [entry_service:ChurnService:1] "
        "127.0.0.1:41477 (scheme=http,method=GET,path=/readyz,type=,length=) "
        "(status=200,type=text/plain,length=2) 0.512ms (trace=a,span=b)\n"
        "2026-11-22T14:41:54+0000 [INFO] [entry_service:ChurnService:1] "
        "127.0.0.1:41478 (scheme=http,method=POST,path=/predict,type=application/"
        "json,length=9) (status=400,type=application/json,length=80) 3.25ms "
        "(trace=c,span=d)\n"
    )
    assert bench.server_log_latencies(text) == [551.176, 3.25]
    assert bench.server_log_latencies(text, "/readyz") == [0.512]


def _scenario(p99: float, accounts_per_s: float, errors: int = 0) -> dict:
    return {
        "p50_ms": p99 / 2,
        "p95_ms": p99 * 0.9,
        "p99_ms": p99,
        "requests_per_s": accounts_per_s,
        "accounts_per_s": accounts_per_s,
        "errors": errors,
    }


def _results(bento_p99: float, bento_rate: float) -> dict:
    return {
        "bentoml": {s.name: _scenario(bento_p99, bento_rate) for s in bench.SCENARIOS},
        "mlflow": {s.name: _scenario(20.0, 100.0) for s in bench.SCENARIOS},
        "in_process": {"single_c1": _scenario(2.0, 500.0)},
    }


SOAK = {"errors": 0, "skipped": 0, "start_rss_mb": 900.0, "end_rss_mb": 905.0}


def test_result_document_shape(tmp_path):
    result = bench.build_result(
        _results(bento_p99=12.0, bento_rate=250.0),
        soak=SOAK,
        model={"uri": "models:/churn-model@champion", "version": "4", "name": "m"},
        context={"accounts": 10},
        machine={"cpu": "test", "cores": 2, "memory_gb": 1.0, "python": "3.11"},
        date="2026-01-01T00:00:00+00:00",
    )
    path = tmp_path / "results" / "serving.json"
    bench.write_json(path, result)
    loaded = json.loads(path.read_text())
    for system in ("bentoml", "mlflow", "in_process"):  # the three
        assert system in loaded
    for scenario in bench.SCENARIOS:
        assert set(loaded["bentoml"][scenario.name]) >= {
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "requests_per_s",
            "accounts_per_s",
            "errors",
        }
    assert loaded["model_uri"] == "models:/churn-model@champion"
    assert loaded["model_version"] == "4"
    assert loaded["date"] == "2026-01-01T00:00:00+00:00"
    assert loaded["machine"]["cores"] == 2
    assert loaded["bentoml_vs_mlflow_throughput_single_c8"] == 2.5
    assert loaded["bentoml_vs_in_process_p50_single_c1"] == 6.0
    assert loaded["soak"]["end_rss_mb"] == 905.0
    assert loaded["targets_met"] == {
        "bentoml_p99_ms_single_c8": True,
        "bentoml_errors": True,
        "bentoml_vs_mlflow_throughput_single_c8": True,
        "soak_errors": True,
    }
    assert loaded["notes"] == ""
    assert loaded["accounts"] == 10
    assert not path.with_name("serving.json.tmp").exists()


def test_missed_targets_are_reported_with_notes():
    results = _results(bento_p99=300.0, bento_rate=50.0)
    results["bentoml"]["single_c1"]["errors"] = 2
    context = {
        "servers": {"in_process": {"breakdown_ms": {"accounts_1": _parts(250.0)}}}
    }
    result = bench.build_result(
        results,
        soak=None,
        model={"uri": "u", "version": "1"},
        context=context,
        machine={},
    )
    assert result["targets_met"] == {
        "bentoml_p99_ms_single_c8": False,
        "bentoml_errors": False,
        "bentoml_vs_mlflow_throughput_single_c8": False,
        "soak_errors": None,
    }
    assert "p99 300 ms" in result["notes"]
    assert "1 account(s) in one call" in result["notes"]
    assert "predict_accounts 250.0 ms" in result["notes"]
    assert "SHAP per member, ms: xgboost 2.5, lightgbm 4.0" in result["notes"]
    assert "0.50x MLflow" in result["notes"]


def test_ratios_are_none_without_a_baseline():
    out = bench.ratios({"bentoml": _results(10.0, 10.0)["bentoml"]})
    assert out["bentoml_vs_mlflow_throughput_single_c8"] is None
    assert out["bentoml_vs_in_process_p50_single_c1"] is None


def test_soak_result_reports_memory_and_errors():
    run = {
        "latencies_ms": [5.0, 6.0, 7.0],
        "requests": 3,
        "offered": 4,
        "skipped": 1,
        "wall_s": 2.0,
        "errors": 0,
        "statuses": {"200": 3},
        "error_samples": [],
        "intervals": [],
    }
    samples = [
        {"t_s": 0.0, "rss_mb": 100.0},
        {"t_s": 1.0, "rss_mb": 103.0},
        {"t_s": 2.0, "rss_mb": 102.5},
    ]
    out = bench.soak_result(run, samples, rate=2.0, duration_s=2.0, max_in_flight=4)
    assert out["start_rss_mb"] == 100.0
    assert out["end_rss_mb"] == 102.5
    assert out["rss_growth_mb"] == 2.5
    assert out["achieved_rate_per_s"] == 1.5
    assert out["errors"] == 0
    assert out["p50_ms"] == 6.0
    assert out["samples"] == samples


def test_server_commands():
    command, ready = bench.server_command("bentoml", "models:/m@champion", 3001)
    assert command[1:3] == ["serve", "serving.service:ChurnService"]
    assert command[-2:] == ["--port", "3001"]
    assert ready == "/readyz"
    command, ready = bench.server_command("mlflow", "models:/m@champion", 3002, 2)
    assert command[1:5] == ["models", "serve", "-m", "models:/m@champion"]
    assert command[-2:] == ["--workers", "2"]
    assert "local" in command
    assert ready == "/ping"


def test_every_server_gets_the_same_worker_count(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///x.db")
    monkeypatch.setenv("CHURN_API_KEY", "secret")
    env = bench.server_environment("models:/m@champion", 2)
    # BentoML services (the model's and the no-op one) read CHURN_WORKERS.
    assert env["CHURN_WORKERS"] == "2"
    assert "CHURN_API_KEY" not in env
    described = {
        name: text.format(workers=2) for name, text in bench.SYSTEM_DESCRIPTIONS.items()
    }
    assert "2 worker(s)" in described["bentoml"]
    assert "2 worker(s)" in described["bentoml_noop"]
    assert "--workers 2" in described["mlflow"]


def _parts(total: float) -> dict[str, float]:
    return {
        "predict_accounts": total,
        "predict_and_explain": total - 10.0,
        "predict_proba": 3.0,
        "shap_xgboost": 2.5,
        "shap_lightgbm": 4.0,
        "reasons_playbook_value": 5.0,
        "columns_and_response": 5.0,
    }


def test_breakdown_note_per_batch_size():
    parts = {
        "validate_account": 0.04,
        "accounts_1": _parts(10.0),
        "accounts_8": _parts(30.0),
    }

    notes = bench._breakdown_note({"breakdown_ms": parts})

    assert len(notes) == 3
    assert "1 account(s) in one call" in notes[0]
    assert "8 account(s) in one call" in notes[1]
    assert "predict_accounts 30.0 ms" in notes[1]
    assert "probabilities and SHAP values 20.0 ms" in notes[1]
    assert "reasons, playbook and value 5.0 ms" in notes[1]
    assert "Validating one account's request takes 0.04 ms" in notes[2]
    assert bench._breakdown_note({}) == []


def test_floor_note_quotes_bentoml_without_a_model():
    results = _results(bento_p99=300.0, bento_rate=50.0)
    results["bentoml_noop"] = {
        "single_c8": {"p99_ms": 40.0, "requests_per_s": 450.0, "errors": 0}
    }

    result = bench.build_result(
        results, soak=None, model={"uri": "u", "version": "1"}, context={}, machine={}
    )

    assert "without a model (bentoml_noop) has p99 40 ms" in result["notes"]
    assert "serves 450 requests/s" in result["notes"]
    assert result["bentoml_noop"]["single_c8"]["p99_ms"] == 40.0


def test_noop_system_is_served_like_bentoml():
    command, ready = bench.server_command("bentoml_noop", "models:/m@a", 1234)

    assert "benchmarks.noop_service:NoopService" in command
    assert ready == "/readyz"
    assert bench.request_bodies("bentoml_noop", [{"account_id": "A"}], [], 1) == [
        b'{"accounts":[{"account_id":"A"}]}'
    ]


def test_connections_per_process_counts_the_server_side_of_each_connection():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    accepted = [listener.accept()[0] for _ in clients]
    try:
        # This process holds both ends; only the accepted ends are on ``port``.
        assert bench.connections_per_process(os.getpid(), port) == [3]
        accepted.pop().close()
        assert bench.connections_per_process(os.getpid(), port) == [2]
    finally:
        for sock in [*clients, *accepted, listener]:
            sock.close()
