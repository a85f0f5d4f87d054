"""The prediction API's request and response models and its scoring path."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from tests.models import synthetic

from churn_pipeline.features import FEATURES, NUMERIC_FEATURES
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.scoring.accounts import score_accounts
from churn_pipeline.scoring.policy import ScoringPolicy
from churn_pipeline.serving.metadata import example_request
from churn_pipeline.serving.predict import predict_accounts
from churn_pipeline.serving.schema import (
    AccountFeatures,
    AccountPrediction,
    account_features_model,
)

COUNT_FEATURES = [spec.name for spec in FEATURES if spec.unit == "count"]


@pytest.fixture
def account() -> dict[str, Any]:
    return dict(example_request()["accounts"][0])


def _errors(payload: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as error:
        AccountFeatures.model_validate(payload)
    return error.value.errors()


# --------------------------------------------------------------------- request
def test_example_request_validates() -> None:
    accounts = example_request()["accounts"]

    assert accounts
    assert len({a["account_id"] for a in accounts}) == len(accounts)
    for account in accounts:
        validated = AccountFeatures.model_validate(account)
        assert validated.model_dump() == account
        # The same body parses from JSON, as the service receives it.
        assert AccountFeatures.model_validate_json(json.dumps(account)) == validated


def test_schema_examples_are_the_registry_examples() -> None:
    properties = AccountFeatures.model_json_schema()["properties"]

    assert {s.name: properties[s.name]["examples"] for s in FEATURES} == {
        s.name: [s.example] for s in FEATURES
    }


def test_schema_lists_every_registry_feature() -> None:
    schema = AccountFeatures.model_json_schema()

    assert set(schema["properties"]) == {"account_id"} | {s.name for s in FEATURES}
    assert set(schema["required"]) == {"account_id"} | {
        s.name for s in FEATURES if not s.nullable
    }
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("field", ["logins_1d", "label", "churned"])
def test_extra_field_is_rejected_by_name(account: dict[str, Any], field: str) -> None:
    errors = _errors({**account, field: 1.0})

    assert [(e["type"], e["loc"]) for e in errors] == [("extra_forbidden", (field,))]


@pytest.mark.parametrize("field", COUNT_FEATURES)
def test_negative_count_is_rejected_by_name(
    account: dict[str, Any], field: str
) -> None:
    errors = _errors({**account, field: -1.0})

    assert [(e["type"], e["loc"]) for e in errors] == [("greater_than_equal", (field,))]


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("discount_pct", 1.5, "less_than_equal"),
        ("last_nps", 11.0, "less_than_equal"),
        ("logins_trend_30d", -1.5, "greater_than_equal"),
        ("tenure_days", -3.0, "greater_than_equal"),
        ("logins_30d", "many", "float_type"),
        ("logins_30d", "12", "float_type"),
        ("logins_30d", True, "float_type"),
        ("active_days_30d", 31.0, "less_than_equal"),
        ("logins_30d", float("inf"), "finite_number"),
        ("logins_30d", float("nan"), "finite_number"),
        ("last_nps", float("nan"), "finite_number"),
        ("plan", "", "string_too_short"),
        ("account_id", "", "string_too_short"),
        ("plan", None, "string_type"),
    ],
)
def test_invalid_value_is_rejected_by_name(
    account: dict[str, Any], field: str, value: object, error_type: str
) -> None:
    errors = _errors({**account, field: value})

    assert [(e["type"], e["loc"]) for e in errors] == [(error_type, (field,))]


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        # Finite in JSON, infinite in the float32 the tree members compute in.
        ("mrr", 1e300, "less_than_equal"),
        ("mrr_change_90d", -1e300, "greater_than_equal"),
    ],
)
def test_values_beyond_any_real_feature_are_rejected(
    account: dict[str, Any], field: str, value: float, error_type: str
) -> None:
    errors = _errors({**account, field: value})

    assert [(e["type"], e["loc"]) for e in errors] == [(error_type, (field,))]


def test_infinity_in_json_is_rejected(account: dict[str, Any]) -> None:
    body = json.dumps({**account, "days_since_last_login": float("inf")})
    assert "Infinity" in body

    with pytest.raises(ValidationError, match="days_since_last_login"):
        AccountFeatures.model_validate_json(body)


@pytest.mark.parametrize("field", ["logins_30d", "plan", "account_id"])
def test_missing_required_field_is_named(account: dict[str, Any], field: str) -> None:
    del account[field]

    assert [(e["type"], e["loc"]) for e in _errors(account)] == [("missing", (field,))]


def test_last_nps_may_be_null_or_absent(account: dict[str, Any]) -> None:
    assert (
        AccountFeatures.model_validate({**account, "last_nps": None}).last_nps is None
    )
    del account["last_nps"]
    assert AccountFeatures.model_validate(account).last_nps is None


# -------------------------------------------------------------------- response
PREDICTION = {
    "account_id": "A1",
    "churn_probability": 0.2,
    "health_score": 62,
    "risk_band": "yellow",
    "top_reasons": [],
    "risk_lowering_reasons": [],
    "contact": True,
    "expected_contact_profit": 1.0,
}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("churn_probability", 1.2),
        ("churn_probability", -0.1),
        ("health_score", 100.6),
        ("health_score", -0.6),
        ("health_score", float("nan")),
    ],
)
def test_prediction_fields_keep_their_bounds(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        AccountPrediction.model_validate({**PREDICTION, field: value})


@pytest.mark.parametrize(
    ("health", "whole"),
    [(62, 62), (62.4, 62), (62.6, 63), (62.5, 62), (63.5, 64), (0.3, 0), (99.7, 100)],
)
def test_health_score_is_a_whole_number_rounded_half_to_even(
    health: float, whole: int
) -> None:
    prediction = AccountPrediction.model_validate(
        {**PREDICTION, "health_score": health}
    )

    assert prediction.health_score == whole
    assert type(prediction.health_score) is int
    assert json.loads(prediction.model_dump_json())["health_score"] == whole


def test_currency_is_optional_text() -> None:
    assert AccountPrediction.model_validate(PREDICTION).currency is None
    priced = AccountPrediction.model_validate({**PREDICTION, "currency": "EUR"})
    assert priced.currency == "EUR"


# --------------------------------------------------------------------- scoring
@pytest.fixture(scope="module")
def model() -> ChurnEnsemble:
    return synthetic.fitted_model()


@pytest.fixture
def rows() -> pd.DataFrame:
    """Later accounts, some without an NPS answer, some with an unseen plan."""
    table = synthetic.holdout_table().iloc[:120].reset_index(drop=True)
    table.loc[::7, "plan"] = "ultimate"
    assert table["last_nps"].isna().any()
    return table


def _requests(rows: pd.DataFrame) -> list[Any]:
    columns = ["account_id", *(spec.name for spec in FEATURES)]
    records = rows[columns].astype(object).where(rows[columns].notna(), None)
    return [AccountFeatures.model_validate(r) for r in records.to_dict("records")]


def test_predict_accounts_equals_batch_scoring(
    model: ChurnEnsemble, scoring_policy: ScoringPolicy, rows: pd.DataFrame
) -> None:
    predictions = predict_accounts(model, scoring_policy, _requests(rows))
    batch = score_accounts(model, rows, scoring_policy)

    assert all(isinstance(p, AccountPrediction) for p in predictions)
    served = pd.DataFrame([p.model_dump() for p in predictions])
    assert served["account_id"].tolist() == batch["account_id"].tolist()
    # Exactly the same numbers, not merely close: one code path.
    np.testing.assert_array_equal(
        served["churn_probability"], batch["churn_probability"]
    )
    np.testing.assert_array_equal(
        served["expected_contact_profit"], batch["expected_contact_profit"]
    )
    assert served["risk_band"].tolist() == batch["risk_band"].tolist()
    assert served["contact"].tolist() == batch["contact"].tolist()
    assert served["top_reasons"].tolist() == batch["top_reasons"].tolist()
    # The account as the list shows it: plan, MRR, seats, tenure, its CLV.
    for column in ("plan", "seats", "tenure_months", "currency"):
        assert served[column].tolist() == batch[column].tolist(), column
    for column in ("mrr", "account_clv"):
        np.testing.assert_array_equal(served[column], batch[column])
    assert served["seats"].notna().all()
    assert served["account_owner"].isna().all()  # unmapped by default
    # The scored list's health score, as the whole number the API answers.
    assert served["health_score"].tolist() == [
        round(h) for h in batch["health_score"].tolist()
    ]


def test_predict_accounts_keeps_request_order(
    model: ChurnEnsemble, scoring_policy: ScoringPolicy, rows: pd.DataFrame
) -> None:
    requests = _requests(rows)[::-1]

    predictions = predict_accounts(model, scoring_policy, requests)

    assert [p.account_id for p in predictions] == [r.account_id for r in requests]


def test_predict_accounts_scores_the_example_request(
    model: ChurnEnsemble, scoring_policy: ScoringPolicy
) -> None:
    accounts = example_request()["accounts"]
    request = [AccountFeatures.model_validate(a) for a in accounts]

    predictions = predict_accounts(model, scoring_policy, request)

    assert [p.account_id for p in predictions] == [a["account_id"] for a in accounts]
    for prediction in predictions:
        assert 0.0 < prediction.churn_probability < 1.0
        assert prediction.risk_band in {"green", "yellow", "red"}
        assert len(prediction.top_reasons) <= scoring_policy.n_reasons
    # The second example shows the most warning signs of the demo business
    # (churn_pipeline.serving.example); the model must rate it riskier.
    typical, at_risk = predictions[:2]
    assert at_risk.churn_probability > typical.churn_probability


def test_integer_json_values_score_like_floats(
    model: ChurnEnsemble, scoring_policy: ScoringPolicy, rows: pd.DataFrame
) -> None:
    """JSON clients send 3, not 3.0; the model must see the same numbers."""
    (request,) = _requests(rows.iloc[[1]])
    body = request.model_dump()
    as_ints = {
        k: int(v)
        if k in NUMERIC_FEATURES and v is not None and float(v).is_integer()
        else v
        for k, v in body.items()
    }
    parsed = AccountFeatures.model_validate_json(json.dumps(as_ints))

    (from_ints,) = predict_accounts(model, scoring_policy, [parsed])
    (from_floats,) = predict_accounts(model, scoring_policy, [request])

    assert from_ints == from_floats


def test_a_configured_usage_feature_gets_its_description_and_bounds() -> None:
    model = account_features_model(["logins_30d", "feature_errors_30d"])
    field = model.model_fields["feature_errors_30d"]

    assert field.description.startswith("Sum of the usage column `feature_errors`")
    with pytest.raises(ValidationError, match="feature_errors_30d"):
        model.model_validate({"logins_30d": 1.0, "feature_errors_30d": -1.0})
