"""BentoML service: churn probabilities, reasons and actions from the champion model.

Thin on purpose: validation models, scoring and metadata live in
``churn_pipeline`` so the service and batch scoring share one code path.

Endpoints: ``POST /predict``, ``GET /metadata``, ``GET /livez`` (process up),
``GET /readyz`` (model loaded and answering), ``GET /docs.json`` (OpenAPI).

Environment:
    CHURN_MODEL_URI: model to serve (default ``models:/churn-model@champion``).
    MLFLOW_TRACKING_URI: the MLflow store holding it (``make serve`` sets both).
    CHURN_MODEL_SOURCE: ``mlflow`` (the registry, by CHURN_MODEL_URI) or
        ``bentoml`` (the copy ``make bento`` imported); default ``bentoml`` when
        served from a built Bento, ``mlflow`` otherwise.
    CHURN_API_KEY: if set, every request but the probes needs this key.
    CHURN_MAX_ACCOUNTS: most accounts in one request (default 1,000).
    CHURN_MAX_BODY_BYTES: largest request body (default 4 MiB); larger gets 413.
    CHURN_MAX_BATCH_ACCOUNTS: most accounts scored in one model call when
        concurrent requests are batched (default 128; see serving/batching.py).
    CHURN_BATCH_WAIT_TURNS: event-loop turns a model call may wait for the
        callers of the last shared call to send again (default 16; 0: never
        waits; see serving/batching.py).
    CHURN_WORKERS: server processes (default 1), each with its own copy of the
        model. One process is bound to about one core by the GIL: run one per
        core (what the serving benchmark does).
    CHURN_MAX_REQUESTS_PER_CONNECTION: a keep-alive connection is closed after
        this many requests (default 100, 0: never), so workers share long-lived
        callers (serving/keepalive.py).
    CHURN_TRACE_PREDICT: ``1`` keeps BentoML's OpenTelemetry span around
        ``/predict`` calls (off by default: see serving/runtime.py).
    CHURN_GC_FREEZE: ``0`` leaves the objects loaded at start-up in every
        garbage collection (frozen by default: see serving/runtime.py).
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Annotated

import bentoml
from fastapi import FastAPI
from pydantic import BaseModel, Field

from churn_pipeline.api_schema import (
    MAX_ACCOUNTS_PER_REQUEST,
    AccountPrediction,
    ModelMetadata,
    account_features_model,
    example_request,
    model_metadata,
    predict_accounts,
)
from churn_pipeline.bento_store import load_imported_model
from churn_pipeline.registry import load_served_model
from serving.auth import API_KEY_ENV, APIKeyMiddleware
from serving.batching import MicroBatcher
from serving.limits import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_BODY_ENV,
    BodySizeLimitMiddleware,
)
from serving.runtime import (
    freeze_startup_objects,
    recycle_connections,
    service_config,
    whole_number_setting,
)

logger = logging.getLogger(__name__)
DEFAULT_MODEL_URI = "models:/churn-model@champion"
MAX_ACCOUNTS = whole_number_setting(
    os.environ, "CHURN_MAX_ACCOUNTS", MAX_ACCOUNTS_PER_REQUEST
)
MAX_BATCH_ACCOUNTS = whole_number_setting(os.environ, "CHURN_MAX_BATCH_ACCOUNTS", 128)
BATCH_WAIT_TURNS = whole_number_setting(
    os.environ, "CHURN_BATCH_WAIT_TURNS", 16, minimum=0
)

# A built Bento keeps its bento.yaml beside src/, which holds serving/.
IN_BENTO = (Path(__file__).resolve().parents[2] / "bento.yaml").exists()
MODEL_SOURCE = os.environ.get("CHURN_MODEL_SOURCE", "bentoml" if IN_BENTO else "mlflow")
# Loaded at import because the request schema depends on the model's features.
SERVED = (
    load_imported_model()
    if MODEL_SOURCE == "bentoml"
    else load_served_model(os.environ.get("CHURN_MODEL_URI", DEFAULT_MODEL_URI))
)
AccountFeatures = account_features_model(
    SERVED.model.numeric_features, SERVED.model.categorical_features
)
metadata_app = FastAPI(title="churn model metadata")


class PredictResponse(BaseModel):
    """Predictions in request order, and which model made them."""

    model_uri: str = Field(..., description="The MLflow model that scored.")
    model_version: str = Field(..., description="Its registered version.")
    predictions: list[AccountPrediction]


# Mounted at the root: a mount at /metadata would answer /metadata with a redirect.
@bentoml.asgi_app(metadata_app, path="/")
@bentoml.service(**service_config(os.environ))
class ChurnService:
    """Real-time churn probabilities, risk bands, reasons and actions."""

    def __init__(self) -> None:
        self.served = SERVED
        self.metadata = model_metadata(SERVED, max_accounts=MAX_ACCOUNTS)
        self.ready = False
        # Answer one request before taking traffic: lazy imports and the
        # explainers are warm, and a model that cannot score never looks ready.
        warm_up = example_request()["accounts"][:1]
        features = {name: warm_up[0].get(name) for name in AccountFeatures.model_fields}
        predict_accounts(
            SERVED.model, SERVED.policy, [AccountFeatures.model_validate(features)]
        )
        self.batcher = MicroBatcher(
            functools.partial(predict_accounts, SERVED.model, SERVED.policy),
            max_batch_size=MAX_BATCH_ACCOUNTS,
            max_wait_turns=BATCH_WAIT_TURNS,
        )
        frozen = freeze_startup_objects(os.environ)
        self.ready = True
        logger.info(
            "Serving %s (version %s); %d start-up objects frozen out of garbage "
            "collection",
            SERVED.uri,
            SERVED.version,
            frozen,
        )

    def __is_ready__(self) -> bool:
        return self.ready

    @bentoml.api(route="/predict")
    async def predict(
        self,
        accounts: Annotated[
            list[AccountFeatures],  # type: ignore[valid-type]
            Field(
                min_length=1,
                max_length=MAX_ACCOUNTS,
                description="Accounts to score, with their point-in-time features.",
            ),
        ],
    ) -> PredictResponse:
        """Score accounts: probability, health, reasons, playbook action, contact."""
        return PredictResponse(
            model_uri=self.served.uri,
            model_version=self.served.version,
            predictions=await self.batcher.submit(accounts),
        )

    @metadata_app.get("/metadata", response_model=ModelMetadata)
    def get_metadata(self) -> ModelMetadata:
        """Model name, version, alias, training window, request schema, metrics."""
        return self.metadata


ChurnService.add_asgi_middleware(
    BodySizeLimitMiddleware,
    max_bytes=whole_number_setting(os.environ, MAX_BODY_ENV, DEFAULT_MAX_BODY_BYTES),
)
recycle_connections(ChurnService, os.environ)
if os.environ.get(API_KEY_ENV):
    ChurnService.add_asgi_middleware(APIKeyMiddleware, api_key=os.environ[API_KEY_ENV])
