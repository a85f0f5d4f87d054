"""The BentoML service configuration read from the environment."""

from __future__ import annotations

import gc
import os
import weakref

import pytest

from churn_pipeline.serving.runtime import (
    freeze_startup_objects,
    header_timeout_s,
    service_config,
    whole_number_setting,
)


def test_defaults_two_workers_and_no_spans_around_predict():
    """Two workers: one answers while the supervisor restarts the other."""
    assert service_config({}) == {
        "traffic": {"timeout": 60},
        "workers": 2,
        "tracing": {"excluded_urls": ["/predict"]},
    }


@pytest.mark.parametrize("value", ["1", "true", " TRUE "])
def test_trace_predict_keeps_bentoml_tracing_untouched(value):
    config = service_config({"CHURN_TRACE_PREDICT": value})
    assert "tracing" not in config


@pytest.mark.parametrize("value", ["0", "false", "False"])
def test_trace_predict_off_excludes_predict(value):
    config = service_config({"CHURN_TRACE_PREDICT": value})
    assert config["tracing"] == {"excluded_urls": ["/predict"]}


def test_workers_come_from_the_environment():
    assert service_config({"CHURN_WORKERS": "3"})["workers"] == 3


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", ""])
def test_bad_worker_count_names_the_variable(value):
    with pytest.raises(ValueError, match=r"CHURN_WORKERS must be a whole number"):
        service_config({"CHURN_WORKERS": value})


def test_bad_trace_switch_lists_the_allowed_values():
    with pytest.raises(ValueError, match=r"CHURN_TRACE_PREDICT must be one of"):
        service_config({"CHURN_TRACE_PREDICT": "yes"})


def test_noop_floor_runs_the_served_configuration():
    from benchmarks.noop_service import NoopService  # noqa: PLC0415

    assert NoopService.config == service_config(os.environ)


@pytest.mark.parametrize(("value", "expected"), [(None, 10), ("1", 1), ("30", 30)])
def test_header_timeout_comes_from_the_environment(value, expected):
    environ = {} if value is None else {"CHURN_HEADER_TIMEOUT_S": value}
    assert header_timeout_s(environ) == expected


@pytest.mark.parametrize("value", ["0", "-1", "2.5", "soon", ""])
def test_bad_header_timeout_names_the_variable(value):
    with pytest.raises(
        ValueError, match=r"CHURN_HEADER_TIMEOUT_S must be a whole number >= 1"
    ):
        header_timeout_s({"CHURN_HEADER_TIMEOUT_S": value})


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, 128), ({"CHURN_MAX_BATCH_ACCOUNTS": "16"}, 16), ({"OTHER": "x"}, 128)],
)
def test_whole_number_setting_reads_the_variable_or_the_default(environ, expected):
    assert whole_number_setting(environ, "CHURN_MAX_BATCH_ACCOUNTS", 128) == expected


@pytest.mark.parametrize("value", ["0", "-5", "4MB", "1e6", ""])
def test_bad_whole_number_setting_names_the_variable_and_the_value(value):
    with pytest.raises(
        ValueError,
        match=rf"CHURN_MAX_BODY_BYTES must be a whole number >= 1, got '{value}'",
    ):
        whole_number_setting({"CHURN_MAX_BODY_BYTES": value}, "CHURN_MAX_BODY_BYTES", 1)


@pytest.fixture
def unfrozen():
    """No frozen objects before the test, none left behind after it."""
    gc.unfreeze()
    yield
    gc.unfreeze()


class _Cycle:
    """An object in a reference cycle: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.me = self


@pytest.mark.usefixtures("unfrozen")
def test_freeze_collects_garbage_then_exempts_the_survivors():
    kept = _Cycle()
    garbage = weakref.ref(_Cycle())

    frozen = freeze_startup_objects({})

    # Not an exact count: a frozen object freed later leaves the frozen set.
    assert frozen > 0
    assert garbage() is None  # collected first, not frozen for good
    # Frozen objects are out of every generation a collection walks.
    assert not any(o is kept for o in gc.get_objects())


@pytest.mark.usefixtures("unfrozen")
@pytest.mark.parametrize("value", ["0", "false"])
def test_freeze_can_be_switched_off(value):
    assert freeze_startup_objects({"CHURN_GC_FREEZE": value}) == 0
    assert gc.get_freeze_count() == 0


def test_bad_freeze_switch_lists_the_allowed_values():
    with pytest.raises(ValueError, match=r"CHURN_GC_FREEZE must be one of"):
        freeze_startup_objects({"CHURN_GC_FREEZE": "maybe"})
