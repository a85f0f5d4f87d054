"""The serving benchmark's HTTP floor: BentoML answering without a model.

Same route, same request bodies and a response of the same shape as
``serving.service``, but every account gets probability 0 without any work:
what BentoML, HTTP and the load generator cost on the machine by themselves.
"""

from __future__ import annotations

import os
from typing import Any

import bentoml


# The same worker count as the served model (the benchmark sets CHURN_WORKERS).
@bentoml.service(
    traffic={"timeout": 60}, workers=int(os.environ.get("CHURN_WORKERS", "1"))
)
class NoopService:
    """Answers /predict at once."""

    @bentoml.api(route="/predict")
    async def predict(self, accounts: list[dict[str, Any]]) -> dict[str, Any]:
        """One zero probability per account."""
        return {
            "model_version": "none",
            "predictions": [
                {"account_id": account.get("account_id"), "churn_probability": 0.0}
                for account in accounts
            ],
        }
