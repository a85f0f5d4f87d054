"""Request and response models of the prediction API, built from the registry.

The service validates with these models and scores through
:func:`churn_pipeline.scoring.accounts.score_accounts`, the code path of batch scoring.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model

from churn_pipeline.features.specs import (
    CATEGORICAL_FEATURES,
    FEATURES,
    FEATURES_BY_NAME,
    NUMERIC_FEATURES,
    FeatureSpec,
)
from churn_pipeline.model_registry.mlflow_store import ServedModel
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.scoring.accounts import RISK_BANDS, ScoringPolicy, score_columns

# No feature is legitimately this large; beyond float32's range (3.4e38) the
# tree members cannot even represent a value, so an unbounded field stops here.
VALUE_LIMIT = 1e12
# No category a model knows is longer; a longer value is refused, not echoed.
MAX_CATEGORY_LENGTH = 100
# Long enough for any CRM's key; short enough that an echo cannot be abused.
MAX_ACCOUNT_ID_LENGTH = 64
# Default cap on accounts per request (the service reads CHURN_MAX_ACCOUNTS).
MAX_ACCOUNTS_PER_REQUEST = 1_000


def _field(spec: FeatureSpec) -> tuple[Any, Any]:
    """Pydantic type and field of one registry feature, with its bounds."""
    constraints: dict[str, Any] = {}
    if spec.kind == "categorical":
        annotation: Any = str
        constraints["min_length"] = 1
        constraints["max_length"] = MAX_CATEGORY_LENGTH
    else:
        annotation = float
        # JSON parsing accepts Infinity and NaN; neither is a feature value. Strict
        # mode keeps true/false and "12" from passing as numbers.
        constraints["allow_inf_nan"] = False
        constraints["strict"] = True
        constraints["ge"] = -VALUE_LIMIT if spec.minimum is None else spec.minimum
        constraints["le"] = VALUE_LIMIT if spec.maximum is None else spec.maximum
    description = spec.description + (f" Unit: {spec.unit}." if spec.unit else "")
    default: Any = ...
    if spec.nullable:
        annotation, default = annotation | None, None
    return annotation, Field(
        default, description=description, examples=[spec.example], **constraints
    )


class _AccountBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(
        ...,
        min_length=1,
        max_length=MAX_ACCOUNT_ID_LENGTH,
        description="Your identifier of the account.",
        examples=["A000123"],
    )


def _generic_field(kind: str, name: str) -> tuple[Any, Any]:
    """Field of a column outside the registry (a customer table's)."""
    if kind == "numeric":
        return float | None, Field(
            None, strict=True, allow_inf_nan=False, ge=-VALUE_LIMIT, le=VALUE_LIMIT
        )
    return str | None, Field(
        None, max_length=MAX_CATEGORY_LENGTH, description=f"Category of {name}."
    )


def account_features_model(
    numeric: Iterable[str], categorical: Iterable[str] = ()
) -> type[BaseModel]:
    """The request model for one account, with exactly the model's features.

    A model trained without an optional table (no NPS survey, say) takes no
    field computed from it, and a customer-table model takes its own columns,
    so the service builds this from the served model.

    Args:
        numeric: Numeric feature names.
        categorical: Categorical feature names.

    Returns:
        A pydantic model named ``AccountFeatures``; registry features carry
        their descriptions, bounds and examples.
    """
    kinds = {name: "numeric" for name in numeric}
    kinds |= {name: "categorical" for name in categorical}
    fields = {
        name: _field(FEATURES_BY_NAME[name])
        if name in FEATURES_BY_NAME
        else _generic_field(kind, name)
        for name, kind in kinds.items()
    }
    return create_model(
        "AccountFeatures",
        __base__=_AccountBase,
        __doc__="Point-in-time features of one account (see docs for definitions).",
        **fields,
    )


AccountFeatures = account_features_model(NUMERIC_FEATURES, CATEGORICAL_FEATURES)


class AccountPrediction(BaseModel):
    """The churn risk of one account."""

    account_id: str = Field(..., description="The account's identifier, as sent.")
    churn_probability: float = Field(
        ...,
        ge=0.0,
        le=1.0,
        description="Calibrated probability that the account cancels within the "
        "model's horizon (30 days by default).",
        examples=[0.12],
    )
    health_score: float = Field(
        ...,
        ge=0.0,
        le=100.0,
        description="Health 0-100 (100 healthy): 70 where the yellow band starts, "
        "40 where red starts.",
        examples=[62.5],
    )
    risk_band: str = Field(
        ...,
        description=f"Health band, one of {list(RISK_BANDS)}.",
        examples=["yellow"],
    )
    top_reasons: list[str] = Field(
        ...,
        description="Strongest risk-raising drivers in words, strongest first, "
        "compared with a typical retained account (same texts as the scored list).",
        examples=[
            [
                "no login for 23 days (typical retained account: 1)",
                "2 support tickets open for more than 5 days",
            ]
        ],
    )
    risk_lowering_reasons: list[str] = Field(
        ...,
        description="Strongest drivers holding the risk down, strongest first.",
        examples=[["active on 25 of the last 30 days (typical retained account: 18)"]],
    )
    triggers: list[str] = Field(
        default_factory=list,
        description="Playbook rules that fired (e.g. no login for 10 days).",
        examples=[["no login for 10 days or more"]],
    )
    recommended_action: str | None = Field(
        None,
        description="What to do, from the driver adding the most risk; null when "
        "the model was registered without a playbook.",
        examples=[
            "re-engagement: walk the users through the features they stopped using"
        ],
    )
    owner_role: str | None = Field(
        None,
        description="Who does it.",
        examples=["customer success manager"],
    )
    contact: bool = Field(
        ...,
        description="Whether contacting the account has positive expected profit.",
    )
    expected_contact_profit: float = Field(
        ..., description="Expected profit of a retention contact (currency units)."
    )


def predict_accounts(
    model: ChurnEnsemble, policy: ScoringPolicy, accounts: list[BaseModel]
) -> list[AccountPrediction]:
    """Score validated accounts.

    Args:
        model: The fitted ensemble.
        policy: The policy registered with the model.
        accounts: Validated ``AccountFeatures``.

    Returns:
        One prediction per account, in request order.
    """
    scores = score_columns(model, account_columns(model, accounts), policy)
    fields = [name for name in AccountPrediction.model_fields if name in scores]
    # tolist(): plain Python values, which pydantic validates strictly.
    values = {name: _plain_list(scores[name]) for name in fields}
    return [
        AccountPrediction.model_validate({name: values[name][i] for name in fields})
        for i in range(len(accounts))
    ]


def account_columns(
    model: ChurnEnsemble, accounts: list[BaseModel]
) -> dict[str, np.ndarray]:
    """Validated accounts as one array per field, what scoring reads.

    Straight from the validated objects: building a DataFrame would cost more
    than scoring one account.
    """
    numeric = set(model.numeric_features)
    return {
        name: np.asarray(
            [getattr(account, name) for account in accounts],
            dtype=float if name in numeric else object,
        )
        for name in type(accounts[0]).model_fields
    }


def _plain_list(values: Any) -> list[Any]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


class FeatureField(BaseModel):
    """One input feature of the served model."""

    name: str = Field(..., description="Field name in a request's account record.")
    kind: str = Field(..., description="numeric or categorical.")
    description: str = Field(..., description="What it means, from the registry.")
    unit: str = Field("", description="Unit of a numeric feature.")
    nullable: bool = Field(False, description="Whether it may be null (unknown).")


class ModelMetadata(BaseModel):
    """Which model answers, what it was trained on, and what it expects."""

    model_name: str = Field(..., description="Registered model name.")
    model_version: str = Field(..., description="Registered version serving.")
    alias: str | None = Field(None, description="Alias it was loaded by.")
    model_uri: str = Field(..., description="The MLflow model URI served.")
    training_window: dict[str, list[str]] = Field(
        ...,
        description="As-of dates the members were fitted on and the calibration "
        "dates (empty for a one-row-per-customer model).",
    )
    features: list[FeatureField] = Field(..., description="The request schema.")
    metrics: dict[str, float] = Field(
        ...,
        description="Headline metrics of the training run (out-of-time test and "
        "backtest mean).",
        examples=[{"test_roc_auc": 0.787, "backtest_empc_mean": 0.199}],
    )
    max_accounts_per_request: int = Field(
        MAX_ACCOUNTS_PER_REQUEST, description="Most accounts one request may carry."
    )


def model_metadata(
    served: ServedModel, *, max_accounts: int = MAX_ACCOUNTS_PER_REQUEST
) -> ModelMetadata:
    """What ``GET /metadata`` answers for a served model."""
    model = served.model
    kinds = {name: "numeric" for name in model.numeric_features}
    kinds |= {name: "categorical" for name in model.categorical_features}
    features = []
    for name, kind in kinds.items():
        spec = FEATURES_BY_NAME.get(name)
        features.append(
            FeatureField(
                name=name,
                kind=kind,
                description=spec.description if spec else f"Column {name}.",
                unit=spec.unit if spec else "",
                nullable=spec.nullable if spec else True,
            )
        )
    periods = getattr(model, "periods_", None) or {}
    return ModelMetadata(
        model_name=served.name,
        model_version=served.version,
        alias=served.alias,
        model_uri=served.uri,
        # A customer-table model says "random" instead of dates.
        training_window={
            k: list(v) for k, v in periods.items() if not isinstance(v, str)
        },
        features=features,
        metrics=served.metrics,
        max_accounts_per_request=max_accounts,
    )


# A second example account showing the warning signs, next to the typical one.
_AT_RISK_EXAMPLE = {
    "account_id": "A000456",
    "tenure_days": 45.0,
    "tenure_months": 1.0,
    "in_first_90_days": 1.0,
    "logins_7d": 0.0,
    "logins_30d": 6.0,
    "logins_trend_30d": -0.7,
    "active_days_30d": 3.0,
    "active_users_per_seat_30d": 0.1,
    "key_feature_uses_30d": 4.0,
    "days_since_last_login": 12.0,
    "tickets_30d": 3.0,
    "tickets_open": 2.0,
    "tickets_open_over_5d": 2.0,
    "oldest_open_ticket_days": 9.0,
    "failed_payments_30d": 1.0,
    "failed_payments_90d": 1.0,
    "last_nps": 4.0,
    "nps_detractor": 1.0,
    "plan": "basic",
}


def example_request() -> dict[str, list[dict[str, Any]]]:
    """A valid request body: a typical account and one showing warning signs."""
    typical: dict[str, Any] = {"account_id": "A000123"}
    typical.update({spec.name: spec.example for spec in FEATURES})
    return {"accounts": [typical, {**typical, **_AT_RISK_EXAMPLE}]}


if __name__ == "__main__":
    json.dump(example_request(), sys.stdout, indent=2)
    sys.stdout.write("\n")
