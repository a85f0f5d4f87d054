"""A refused request logs one WARNING line without its values (quiet_errors.py)."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from bentoml.exceptions import BentoMLException, InvalidArgument
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from churn_pipeline.serving.quiet_errors import (
    _FILTER,
    BENTOML_HTTP_LOGGER,
    quiet_validation_errors,
)


class _Account(BaseModel):
    logins_30d: int = Field(ge=0)
    plan: str


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: list[_Account]


@pytest.fixture
def quiet():
    quiet_validation_errors()
    yield logging.getLogger(BENTOML_HTTP_LOGGER)
    logging.getLogger(BENTOML_HTTP_LOGGER).removeFilter(_FILTER)


def _log_refusal(logger: logging.Logger, error: Exception) -> None:
    """What BentoML's ``log_exception`` does for a failed request."""
    try:
        raise error
    except type(error):
        logger.error("Exception on %s [%s]", "/predict", "POST", exc_info=True)


def _validation_error(body: str) -> ValidationError:
    with pytest.raises(ValidationError) as raised:
        _Body.model_validate_json(body)
    return raised.value


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (
            '{"accounts": [{"logins_30d": -987654, "plan": "SECRET-PLAN"}]}',
            "1 validation error(s): accounts.0.logins_30d (greater_than_equal)",
        ),
        ('{"accounts": [{"logins_30d": "SECRET"}]}', "accounts.0.plan (missing)"),
        ('{"accounts": "SECRET"}', "accounts (list_type)"),
        ('{"accounts": [SECRET', "body (json_invalid)"),
    ],
)
def test_validation_error_is_one_warning_line_without_values(
    quiet, caplog, body, where
):
    with caplog.at_level(logging.INFO, logger=BENTOML_HTTP_LOGGER):
        _log_refusal(quiet, _validation_error(body))

    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    text = caplog.text
    assert "POST /predict refused (400)" in text
    assert where in text
    assert "SECRET" not in text
    assert "987654" not in text
    assert "Traceback" not in text
    assert "\n" not in record.getMessage()


@pytest.mark.parametrize(
    ("extra", "shown"),
    [("acounts", "acounts (extra_forbidden)"), ("bad key\nFAKE LINE", "? (extra")],
)
def test_made_up_keys_are_named_only_when_plain_names(quiet, caplog, extra, shown):
    body = {"accounts": [], extra: 1}
    with caplog.at_level(logging.INFO, logger=BENTOML_HTTP_LOGGER):
        _log_refusal(quiet, _validation_error(json.dumps(body)))

    message = caplog.records[0].getMessage()
    assert shown in message
    assert "FAKE" not in message


def test_long_error_lists_are_cut(quiet, caplog):
    body = {"accounts": [{"logins_30d": -1, "plan": "x"}] * 13}
    with caplog.at_level(logging.INFO, logger=BENTOML_HTTP_LOGGER):
        _log_refusal(quiet, _validation_error(json.dumps(body)))

    message = caplog.records[0].getMessage()
    assert "13 validation error(s)" in message
    assert message.endswith("accounts.9.logins_30d (greater_than_equal) and 3 more")


def test_other_4xx_is_one_warning_with_the_status(quiet, caplog):
    with caplog.at_level(logging.INFO, logger=BENTOML_HTTP_LOGGER):
        _log_refusal(quiet, InvalidArgument("bad SECRET input"))

    [record] = caplog.records
    assert (record.levelno, record.exc_info) == (logging.WARNING, None)
    assert record.getMessage() == "POST /predict refused (400)"


@pytest.mark.parametrize(
    "error", [RuntimeError("boom"), BentoMLException("internal")], ids=["any", "500"]
)
def test_server_errors_keep_their_traceback(quiet, caplog, error):
    with caplog.at_level(logging.INFO, logger=BENTOML_HTTP_LOGGER):
        _log_refusal(quiet, error)

    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[0] is type(error)
    assert sys.exc_info() == (None, None, None)
