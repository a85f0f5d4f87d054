"""The serving benchmark's HTTP floor: BentoML answering without a model.

Same route, same request bodies, the same server configuration and
garbage-collector freeze (``churn_pipeline.serving.runtime``) and a pydantic
response like ``serving.service``'s, but every account gets probability 0
without any work: what BentoML, HTTP and the load generator cost on the machine
by themselves.
(A plain ``dict`` answer would not do: BentoML derives the JSON schema of such
an answer again for every response, a cost the served model's pydantic
response does not pay.)
"""

from __future__ import annotations

import os
from typing import Any

import bentoml
from pydantic import BaseModel

from churn_pipeline.serving.runtime import (
    freeze_startup_objects,
    service_config,
)


class NoopPrediction(BaseModel):
    """One account's made-up answer."""

    account_id: str | None
    churn_probability: float


class NoopResponse(BaseModel):
    """The answers, shaped like the served model's."""

    model_version: str
    predictions: list[NoopPrediction]


# The served model's configuration (the benchmark sets CHURN_WORKERS).
@bentoml.service(**service_config(os.environ))
class NoopService:
    """Answers /predict at once."""

    def __init__(self) -> None:
        freeze_startup_objects(os.environ)

    @bentoml.api(route="/predict")
    async def predict(self, accounts: list[dict[str, Any]]) -> NoopResponse:
        """One zero probability per account."""
        return NoopResponse(
            model_version="none",
            predictions=[
                NoopPrediction(
                    account_id=account.get("account_id"), churn_probability=0.0
                )
                for account in accounts
            ],
        )
