"""The JSON-lines prediction log: one line per answered prediction, rotated."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from churn_pipeline.serving.prediction_log import (
    PredictionLog,
    prediction_log_from_environ,
)


def _prediction(i: int) -> dict[str, object]:
    return {
        "account_id": f"A{i:06d}",
        "churn_probability": i / 100,
        "risk_band": "green",
        "features_as_of": "2025-06-30" if i % 2 else None,
        "overridden": ["failed_payments_30d"] if i == 1 else [],
        "stale": False,
    }


def _lines(directory: Path) -> list[dict[str, object]]:
    return [
        json.loads(line)
        for path in sorted(directory.glob("predictions-*.jsonl*"))
        for line in path.read_text().splitlines()
    ]


def test_every_prediction_is_one_line(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, max_bytes=1 << 20)
    log.record(
        [_prediction(0), _prediction(1)], model_name="churn-model", model_version="3"
    )
    log.close()
    lines = _lines(tmp_path)
    assert [line["account_id"] for line in lines] == ["A000000", "A000001"]
    assert lines[1]["overridden"] == ["failed_payments_30d"]
    assert lines[1]["features_as_of"] == "2025-06-30"
    assert lines[0]["features_as_of"] is None
    assert {line["model_version"] for line in lines} == {"3"}
    assert all(line["time"].endswith("+00:00") for line in lines)


def test_rotates_without_losing_records(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, max_bytes=2048, backups=50)
    for i in range(200):
        log.record([_prediction(i)], model_name="m", model_version="1")
    log.close()
    assert len(list(tmp_path.glob("predictions-*.jsonl*"))) > 1
    ids = sorted(line["account_id"] for line in _lines(tmp_path))
    assert ids == [f"A{i:06d}" for i in range(200)]


@pytest.mark.parametrize("value", ["12", "abc", "-5"])
def test_bad_size_names_the_variable(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="CHURN_PREDICTION_LOG_MAX_BYTES"):
        prediction_log_from_environ(
            {
                "CHURN_PREDICTION_LOG_DIR": str(tmp_path),
                "CHURN_PREDICTION_LOG_MAX_BYTES": value,
            }
        )


def test_empty_directory_switches_it_off() -> None:
    assert prediction_log_from_environ({"CHURN_PREDICTION_LOG_DIR": ""}) is None
