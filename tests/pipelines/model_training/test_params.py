"""The sampling and tuning-budget knobs: defaults, and errors naming key and rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kedro.config import OmegaConfigLoader

from churn_pipeline.config import ParameterError, ParameterSources, validate_parameters
from churn_pipeline.settings import CONFIG_LOADER_ARGS

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def _validate(runtime: dict[str, Any] | None = None) -> Any:
    loader = OmegaConfigLoader(
        str(PROJECT_ROOT / "conf"), runtime_params=runtime, **CONFIG_LOADER_ARGS
    )
    sources = ParameterSources.from_loader(loader, PROJECT_ROOT)
    return validate_parameters(loader["parameters"], sources)


def test_defaults_bound_large_runs_and_leave_the_demo_alone() -> None:
    training = _validate().model_training

    # The demo trains on ~27k rows (backtest origins up to ~32k) and tunes on
    # ~15k: below both caps, so its numbers are the unsampled ones.
    assert training.sampling.max_training_rows == 40_000
    assert training.tuning.max_rows == 20_000
    assert training.tuning.timeout_minutes == 10


@pytest.mark.parametrize(
    ("runtime", "key", "rule"),
    [
        (
            {"model_training": {"sampling": {"max_training_rows": 0}}},
            "model_training.sampling.max_training_rows",
            "greater than 0",
        ),
        (
            {"model_training": {"sampling": {"max_training_rows": "many"}}},
            "model_training.sampling.max_training_rows",
            "valid integer",
        ),
        (
            {"model_training": {"sampling": {"share": 0.5}}},
            "model_training.sampling.share",
            "max_training_rows",
        ),
        (
            {"model_training": {"tuning": {"max_rows": -5}}},
            "model_training.tuning.max_rows",
            "greater than 0",
        ),
        (
            {"model_training": {"tuning": {"timeout_minutes": 0}}},
            "model_training.tuning.timeout_minutes",
            "greater than 0",
        ),
    ],
)
def test_bad_values_name_the_key_and_the_rule(
    runtime: dict[str, Any], key: str, rule: str
) -> None:
    with pytest.raises(ParameterError) as error:
        _validate(runtime)

    matching = [p for p in error.value.problems if p[1] == key]
    assert matching, error.value.problems
    assert rule in matching[0][2]


@pytest.mark.parametrize(
    "runtime",
    [
        {"model_training": {"sampling": {"max_training_rows": None}}},
        {"model_training": {"tuning": {"max_rows": None, "timeout_minutes": None}}},
    ],
)
def test_null_switches_a_cap_off(runtime: dict[str, Any]) -> None:
    training = _validate(runtime).model_training

    assert None in (
        training.sampling.max_training_rows,
        training.tuning.max_rows,
        training.tuning.timeout_minutes,
    )
