"""BentoML service answering ``POST /predict`` with the champion churn model.

Thin on purpose: validation models and scoring live in ``churn_pipeline`` so the
service and batch scoring share one code path.

Environment:
    CHURN_MODEL_URI: model to serve (default ``models:/churn-model@champion``).
    MLFLOW_TRACKING_URI: the MLflow store holding it (``make serve`` sets both).
"""

from __future__ import annotations

import logging
import os
from typing import Annotated

import bentoml
from pydantic import BaseModel, Field

from churn_pipeline.api_schema import (
    MAX_ACCOUNTS_PER_REQUEST,
    AccountPrediction,
    account_features_model,
    predict_accounts,
)
from churn_pipeline.registry import load_model

logger = logging.getLogger(__name__)
DEFAULT_MODEL_URI = "models:/churn-model@champion"

# Loaded at import because the request schema depends on the model's features.
MODEL_URI = os.environ.get("CHURN_MODEL_URI", DEFAULT_MODEL_URI)
MODEL, POLICY = load_model(MODEL_URI)
AccountFeatures = account_features_model(
    MODEL.numeric_features, MODEL.categorical_features
)


class PredictResponse(BaseModel):
    """Predictions in request order, and which model made them."""

    model_uri: str = Field(..., description="The MLflow model that scored.")
    predictions: list[AccountPrediction]


@bentoml.service(traffic={"timeout": 60})
class ChurnService:
    """Real-time churn probabilities, risk bands and reasons."""

    def __init__(self) -> None:
        self.model_uri, self.model, self.policy = MODEL_URI, MODEL, POLICY
        logger.info("Serving %s", self.model_uri)

    @bentoml.api(route="/predict")
    def predict(
        self,
        accounts: Annotated[
            list[AccountFeatures],  # type: ignore[valid-type]
            Field(
                min_length=1,
                max_length=MAX_ACCOUNTS_PER_REQUEST,
                description="Accounts to score, with their point-in-time features.",
            ),
        ],
    ) -> PredictResponse:
        """Score accounts: probability, risk band, top reasons, contact decision."""
        return PredictResponse(
            model_uri=self.model_uri,
            predictions=predict_accounts(self.model, self.policy, accounts),
        )
