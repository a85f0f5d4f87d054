"""Known upstream noise is dropped from the log; everything else still shows."""

from __future__ import annotations

import logging
import warnings

import pytest

from churn_pipeline.reporting.quiet import (
    KNOWN_NOISE,
    WARNINGS_LOGGER,
    DropKnownNoise,
    silence_known_noise,
)

SITE = "/work/.venv/lib/python3.11/site-packages"

# The texts `kedro run` printed before (file, category, message).
SEEN_IN_RUNS = [
    (
        f"{SITE}/mlflow/pyfunc/utils/data_validation.py",
        UserWarning,
        "\x1b[33mAdd type hints to the `predict` method to enable data validation",
    ),
    (
        f"{SITE}/kedro_mlflow/config/kedro_mlflow_config.py",
        type("PydanticDeprecatedSince20", (DeprecationWarning,), {}),
        "Support for class-based `config` is deprecated, use ConfigDict instead.",
    ),
    (
        f"{SITE}/kedro/config/omegaconf_config.py",
        UserWarning,
        "register_new_resolver() is deprecated and will be removed",
    ),
    (
        f"{SITE}/kedro_mlflow/framework/hooks/mlflow_hook.py",
        UserWarning,
        "register_new_resolver() is deprecated and will be removed",
    ),
    (
        f"{SITE}/mlflow/store/tracking/sqlalchemy_store.py",
        type("SADeprecationWarning", (DeprecationWarning,), {}),
        "The ``noload`` loader strategy is deprecated and will be removed",
    ),
    (
        "<frozen importlib._bootstrap>",
        DeprecationWarning,
        "the load_module() method is deprecated and slated for removal",
    ),
]


def _warning_record(filename: str, category: type[Warning], message: str):
    text = warnings.formatwarning(message, category, filename, 10, "code()")
    return logging.LogRecord(WARNINGS_LOGGER, logging.WARNING, "", 0, text, (), None)


def _drop(logger: str) -> DropKnownNoise:
    return DropKnownNoise(tuple(e.pattern for e in KNOWN_NOISE if e.logger == logger))


@pytest.mark.parametrize(("filename", "category", "message"), SEEN_IN_RUNS)
def test_known_warnings_are_dropped(filename, category, message):
    assert not _drop(WARNINGS_LOGGER).filter(
        _warning_record(filename, category, message)
    )


@pytest.mark.parametrize(
    ("filename", "category", "message"),
    [
        # Our own code warning about the same things is not hidden.
        (
            "/work/src/churn_pipeline/models/ensemble.py",
            UserWarning,
            "Add type hints",
        ),
        (
            f"{SITE}/mlflow/store/tracking/sqlalchemy_store.py",
            UserWarning,
            "Something else",
        ),
        (f"{SITE}/sklearn/base.py", UserWarning, "X does not have valid feature names"),
    ],
)
def test_other_warnings_still_show(filename, category, message):
    assert _drop(WARNINGS_LOGGER).filter(_warning_record(filename, category, message))


def test_known_kedro_mlflow_records_are_dropped_and_others_kept():
    name = "kedro_mlflow.framework.hooks.mlflow_hook"
    drop = _drop(name)

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.WARNING, "", 0, message, (), None)

    assert not drop.filter(
        record(
            "'model_training.monotone_constraints.logins_*' is not a valid name for "
            "a mlflow paramter. It is renamed as "
            "'model_training.monotone_constraints.logins__'"
        )
    )
    # Another parameter's renaming is news to the user: it stays.
    assert drop.filter(
        record(
            "'scoring.risk_bands.yellow>' is not a valid name for a mlflow paramter. "
            "It is renamed as 'scoring.risk_bands.yellow_'"
        )
    )


@pytest.fixture
def restore_logging():
    saved = {
        name: (logging.getLogger(name).level, list(logging.getLogger(name).filters))
        for name in {e.logger for e in KNOWN_NOISE} | {"mlflow", "kedro_mlflow"}
    }
    yield
    logging.captureWarnings(False)
    for name, (level, filters) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.filters[:] = filters


def test_silencing_twice_keeps_one_filter_per_logger(restore_logging, monkeypatch):
    # setenv first, so the teardown also removes what silence_known_noise sets.
    monkeypatch.setenv("MLFLOW_LOGGING_LEVEL", "")
    monkeypatch.delenv("MLFLOW_LOGGING_LEVEL")

    silence_known_noise()
    silence_known_noise()

    for name in {e.logger for e in KNOWN_NOISE}:
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, DropKnownNoise) for f in filters) == 1, name
    assert logging.getLogger("mlflow").level == logging.WARNING
    assert logging.getLogger("kedro_mlflow").level == logging.WARNING


def test_a_chosen_mlflow_level_is_kept(restore_logging, monkeypatch):
    monkeypatch.setenv("MLFLOW_LOGGING_LEVEL", "debug")

    silence_known_noise()

    assert logging.getLogger("mlflow").level == logging.DEBUG
