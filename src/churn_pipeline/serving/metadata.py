"""What ``GET /metadata`` answers, and the example request of the API docs.

Run ``python -m churn_pipeline.serving.metadata > serving/example_request.json``
to regenerate the example file after the registry or the demo business changes
(:mod:`churn_pipeline.serving.example` tells how its accounts are chosen).
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import sys
from typing import Any

from pydantic import BaseModel, Field

from churn_pipeline.features.specs import spec_of
from churn_pipeline.model_registry.mlflow_store import ServedModel
from churn_pipeline.serving.example import build_example_request
from churn_pipeline.serving.schema import MAX_ACCOUNTS_PER_REQUEST


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
    kinds = {name: "numeric" for name in model.numeric_features_}
    kinds |= {name: "categorical" for name in model.categorical_features_}
    features = []
    for name, kind in kinds.items():
        spec = spec_of(name)
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


@functools.cache
def _example_request() -> dict[str, list[dict[str, Any]]]:
    return build_example_request()


def example_request() -> dict[str, list[dict[str, Any]]]:
    """A valid request body: a healthy real account and one showing warning signs.

    Built from the seeded demo business (seconds, once per process); each call
    returns a fresh copy to change at will. The service reads the same body from
    serving/example_request.json.
    """
    return copy.deepcopy(_example_request())


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    json.dump(example_request(), sys.stdout, indent=2)
    sys.stdout.write("\n")
