"""What the service answers: predictions with their provenance, and freshness."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from churn_pipeline.serving.metadata import ModelMetadata
from churn_pipeline.serving.schema import AccountPrediction


class ServedPrediction(AccountPrediction):
    """One account's churn risk, with the model and features that produced it."""

    model_version: str = Field(..., description="Registered version that scored.")
    features_as_of: date | None = Field(
        None,
        description="As-of date of the stored features used; null when the "
        "request carried the complete feature vector.",
        examples=["2025-12-31"],
    )
    overridden: list[str] = Field(
        default_factory=list,
        description="Feature fields the request sent over the stored values.",
        examples=[["failed_payments_30d"]],
    )
    stale: bool = Field(
        False,
        description="Whether the stored features are older than the service's "
        "allowed age (the daily scoring job has not run lately).",
    )
    unknown_categories: list[str] = Field(
        default_factory=list,
        description="Categorical fields whose value the model never saw in "
        "training; scored as 'none of the known categories'.",
        examples=[["plan"]],
    )


class PredictResponse(BaseModel):
    """Predictions in request order, and which model made them."""

    model_uri: str = Field(..., description="The MLflow model URI the service follows.")
    model_version: str = Field(..., description="The registered version that scored.")
    predictions: list[ServedPrediction]


class StoreFreshness(BaseModel):
    """The online feature store the service reads by account id."""

    kind: str = Field(..., description="sqlite or redis.")
    reachable: bool = Field(..., description="Whether the last check reached it.")
    as_of_date: date | None = Field(
        None, description="Newest as-of date of the stored features."
    )
    n_accounts: int | None = Field(None, description="Accounts with stored features.")
    written_at: str | None = Field(
        None, description="When the daily scoring run wrote them (UTC)."
    )
    max_age_days: float = Field(..., description="Older stored features are stale.")
    stale: bool | None = Field(
        None, description="Whether the newest stored features are already stale."
    )
    error: str | None = Field(None, description="Why it could not be read.")


class ServiceMetadata(ModelMetadata):
    """The model's metadata and the freshness of the online store."""

    online_store: StoreFreshness | None = Field(
        None,
        description="The online feature store; null when none is configured "
        "(requests must then carry complete feature vectors).",
    )
