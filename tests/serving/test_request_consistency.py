"""Requests whose feature values contradict each other are refused, naming them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from tests.features.test_consistency import CONSISTENT, breaking_change

from churn_pipeline.features.consistency import RULES, Rule
from churn_pipeline.features.specs import FEATURES
from churn_pipeline.serving.lookup import account_request_model
from churn_pipeline.serving.metadata import example_request
from churn_pipeline.serving.schema import (
    INCONSISTENT,
    AccountFeatures,
    account_features_model,
)

AccountRequest = account_request_model(AccountFeatures)


@pytest.fixture
def full() -> dict[str, Any]:
    """A real account's complete vector with the rule fields' test values."""
    return {**example_request()["accounts"][0], **CONSISTENT}


def _refusal(payload: dict[str, Any], model: type = AccountRequest) -> str:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(payload)
    [error] = raised.value.errors()
    assert (error["type"], error["loc"]) == (INCONSISTENT, ())
    return error["msg"]


def test_a_consistent_complete_vector_is_accepted(full):
    assert AccountRequest.model_validate(full).model_fields_set == set(full)


@pytest.mark.parametrize("rule", RULES, ids=Rule.describe)
def test_a_complete_vector_breaking_a_rule_is_refused_naming_it(full, rule):
    broken = {**full, **breaking_change(rule, full)}

    message = _refusal(broken)

    assert rule.violation(broken) in message
    for name in rule.fields:
        value = "null" if broken[name] is None else f"{broken[name]:g}"
        assert f"{name} ({value})" in message


def test_the_message_reads_as_the_rule_with_the_values(full):
    message = _refusal({**full, "logins_14d": 40.0, "logins_30d": 6.0})

    assert "logins_14d (40) must not exceed logins_30d (6)" in message


def test_every_broken_rule_is_named(full):
    message = _refusal(
        {**full, "logins_14d": 1e6, "tickets_7d": 9.0, "ticket_burst_7d": 0.0}
    )

    assert "logins_14d (1000000) must not exceed logins_30d" in message
    assert "ticket_burst_7d (0) must be 1 exactly when tickets_7d (9)" in message


def test_an_override_is_checked_only_against_fields_sent_with_it():
    # A billing service that just saw a failed payment sends that count alone;
    # the stored failure dates are older than its news.
    AccountRequest.model_validate({"account_id": "A1", "failed_payments_30d": 1.0})
    AccountRequest.model_validate({"account_id": "A1", "logins_14d": 40.0})

    message = _refusal(
        {
            "account_id": "A1",
            "failed_payments_30d": 1.0,
            "days_since_failed_payment": 200.0,
        }
    )

    assert (
        "failed_payments_30d (1) must be at least 1 exactly when "
        "days_since_failed_payment (200) is below 30" in message
    )


def test_a_null_sent_is_a_value_the_rules_see():
    message = _refusal(
        {
            "account_id": "A1",
            "failed_payments_90d": 2.0,
            "days_since_failed_payment": None,
        }
    )

    assert "days_since_failed_payment (null)" in message


def test_rules_over_features_the_model_lacks_are_not_checked(full):
    without_nps = [s for s in FEATURES if s.source != "nps_responses"]
    features = account_features_model(
        [s.name for s in without_nps if s.kind == "numeric"],
        [s.name for s in without_nps if s.kind == "categorical"],
    )
    request_model = account_request_model(features)
    vector = {k: v for k, v in full.items() if k in features.model_fields}

    burst = {"tickets_7d": 3.0, "tickets_10d": 3.0}

    assert "last_nps" not in request_model.model_fields
    request_model.model_validate({**vector, **burst, "ticket_burst_7d": 1.0})
    with pytest.raises(ValidationError, match="ticket_burst_7d"):
        request_model.model_validate({**vector, **burst, "ticket_burst_7d": 0.0})
