"""serving/example_request.json: two real demo accounts, consistent, up to date."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from churn_pipeline.features.consistency import violations
from churn_pipeline.serving.example import pick_accounts, warning_signs
from churn_pipeline.serving.lookup import account_request_model
from churn_pipeline.serving.metadata import example_request
from churn_pipeline.serving.schema import AccountFeatures

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "serving/example_request.json"


def test_example_request_file_is_what_the_module_generates():
    """Regenerate with ``python -m churn_pipeline.serving.metadata``.

    It prints serving/example_request.json.
    """
    assert json.loads(EXAMPLE.read_text()) == example_request()


def test_example_accounts_are_valid_consistent_requests():
    request_model = account_request_model(AccountFeatures)
    accounts = json.loads(EXAMPLE.read_text())["accounts"]

    for account in accounts:
        AccountFeatures.model_validate(account)
        request_model.model_validate(account)
        assert violations(account) == [], account["account_id"]


def test_example_holds_a_healthy_and_an_at_risk_account():
    healthy, at_risk = json.loads(EXAMPLE.read_text())["accounts"]

    assert warning_signs(healthy) == []
    assert len(warning_signs(at_risk)) >= 2


def test_docs_name_the_example_accounts():
    docs = (ROOT / "docs/serving.md").read_text()

    for account in json.loads(EXAMPLE.read_text())["accounts"]:
        assert account["account_id"] in docs


def _account(account_id: str, **values: float) -> dict[str, Any]:
    calm = {
        "days_since_last_login": 1.0,
        "tickets_open_over_5d": 0.0,
        "ticket_burst_7d": 0.0,
        "nps_detractor": 0.0,
        "failed_payments_30d": 0.0,
        "logins_trend_30d": 0.1,
        "in_first_90_days": 0.0,
        "active_days_30d": 10.0,
        "key_feature_uses_30d": 5.0,
    }
    return {"account_id": account_id, **calm, **values}


def test_the_pick_is_the_documented_rule():
    records = [
        _account("A5", active_days_30d=25.0, key_feature_uses_30d=3.0),
        _account("A4", active_days_30d=25.0, key_feature_uses_30d=9.0),
        _account("A3", active_days_30d=25.0, key_feature_uses_30d=9.0),
        _account("A2", nps_detractor=1.0, days_since_last_login=12.0),
        _account("A1", nps_detractor=1.0, failed_payments_30d=1.0, active_days_30d=4.0),
        _account("A0", nps_detractor=1.0, tickets_open_over_5d=2.0),
    ]

    healthy, at_risk = pick_accounts(records)

    # Most active days, then most key-feature uses, then the smaller id.
    assert healthy["account_id"] == "A3"
    # Most signs, then fewest active days (A1 has 4, A2 10).
    assert at_risk["account_id"] == "A1"


def test_the_pick_needs_both_kinds_of_account():
    with pytest.raises(ValueError, match="warning signs"):
        pick_accounts([_account("A1"), _account("A2")])
