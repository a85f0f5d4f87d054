"""Request and response models of the prediction API, built from the registry.

The service validates requests with :func:`account_features_model` and answers
with :class:`AccountPrediction`; :mod:`churn_pipeline.serving.predict` scores
validated accounts and :mod:`churn_pipeline.serving.metadata` describes the
served model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic_core import PydanticCustomError

from churn_pipeline.features.consistency import rules_for, violations
from churn_pipeline.features.specs import (
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    FeatureSpec,
    spec_of,
)
from churn_pipeline.scoring.policy import RISK_BANDS

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
        name: _field(spec) if (spec := spec_of(name)) else _generic_field(kind, name)
        for name, kind in kinds.items()
    }
    return create_model(
        "AccountFeatures",
        __base__=_AccountBase,
        __doc__="Point-in-time features of one account (see docs for definitions).",
        **fields,
    )


AccountFeatures = account_features_model(NUMERIC_FEATURES, CATEGORICAL_FEATURES)
INCONSISTENT = "inconsistent_features"


def consistency_check(features: Iterable[str]) -> Callable[[BaseModel], BaseModel]:
    """An after-validator refusing values that break a consistency rule.

    Only the fields a request sent are checked against each other (all of them
    for a complete vector): a caller's override (a failed payment just seen)
    may be newer than the stored values it is merged with.

    Args:
        features: The model's feature names; rules over other features are
            skipped (:func:`churn_pipeline.features.consistency.rules_for`).

    Returns:
        A function for ``model_validator(mode="after")``; it raises a
        validation error of type ``inconsistent_features`` naming each broken
        rule with the fields and their values.
    """
    rules = rules_for(features)

    def check(account: BaseModel) -> BaseModel:
        sent = account.model_fields_set
        problems = violations({name: getattr(account, name) for name in sent}, rules)
        if problems:
            raise PydanticCustomError(
                INCONSISTENT,
                "inconsistent feature values: {problems}",
                {"problems": "; ".join(problems)},
            )
        return account

    return check


class AccountPrediction(BaseModel):
    """The churn risk of one account."""

    account_id: str = Field(..., description="The account's identifier, as sent.")
    # Who the account is, as on the scored list (scoring.account_context maps
    # each to a feature column); null where the model has no such column.
    account_owner: str | None = Field(
        None,
        description="The account's owner, when the features carry one.",
        examples=[None],
    )
    plan: str | None = Field(None, description="The account's plan.", examples=["pro"])
    mrr: float | None = Field(
        None,
        description="Monthly recurring revenue (currency units).",
        examples=[420.0],
    )
    seats: int | None = Field(None, description="Paid seats.", examples=[12])
    tenure_months: int | None = Field(
        None, description="Whole months since signup.", examples=[17]
    )
    churn_probability: float = Field(
        ...,
        ge=0.0,
        le=1.0,
        description="Calibrated probability that the account cancels within the "
        "model's horizon (30 days by default).",
        examples=[0.12],
    )
    health_score: int = Field(
        ...,
        ge=0,
        le=100,
        description="Health 0-100 (100 healthy), a whole number: 70 where the "
        "yellow band starts, 40 where red starts.",
        examples=[62],
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
    account_clv: float | None = Field(
        None,
        description="The account's lifetime value the contact decision used "
        "(currency units): its MRR x margin x expected lifetime, or the policy's "
        "fixed CLV.",
        examples=[9408.0],
    )
    currency: str | None = Field(
        None,
        description="Currency of mrr, account_clv and expected_contact_profit "
        "(ISO 4217); null when the scoring policy names none.",
        examples=["USD"],
    )

    @field_validator("health_score", mode="before")
    @classmethod
    def _whole_health(cls, value: Any) -> Any:
        """A finite float health score, rounded to a whole number.

        Half to even, as the scored list's export rounds; anything else is
        validated as it is.
        """
        if isinstance(value, float) and math.isfinite(value):
            return round(value)
        return value
