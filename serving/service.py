"""BentoML entry point: churn probabilities, reasons and actions from the champion.

Thin on purpose: request and response models, lookups by account id, the
champion follower and the prediction log live in ``churn_pipeline``, and
scoring is batch scoring's code path, so a served score is the scored list's.

Endpoints: ``POST /predict`` (accounts by id, id plus overrides, or complete
feature vectors), ``GET /metadata`` (model and online-store freshness),
``GET /livez``, ``GET /readyz`` (model warm and the online store reachable),
``GET /`` and ``GET /docs`` (Swagger UI, served offline), ``GET /docs.json``
(the OpenAPI document, naming the model served). Every environment variable is
in docs/serving.md.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Annotated, Any

import bentoml
from bentoml.exceptions import InvalidArgument, NotFound
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import Field

from churn_pipeline.features.consistency import rules_for
from churn_pipeline.model_registry.bento_store import load_imported_model
from churn_pipeline.model_registry.mlflow_store import ServedModel, load_served_model
from churn_pipeline.serving.auth import API_KEY_ENV, APIKeyMiddleware
from churn_pipeline.serving.batching import MicroBatcher
from churn_pipeline.serving.docs import api_document, api_title, docs_page
from churn_pipeline.serving.follower import ChampionFollower
from churn_pipeline.serving.limits import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_BODY_ENV,
    BodySizeLimitMiddleware,
)
from churn_pipeline.serving.lookup import (
    InvalidAccountError,
    UnknownAccountsError,
    account_request_model,
    known_categories,
    needs_lookup,
    resolve_accounts,
    today_utc,
    unknown_categories,
)
from churn_pipeline.serving.metadata import model_metadata
from churn_pipeline.serving.online import OnlineStore, open_online_store
from churn_pipeline.serving.predict import predict_accounts
from churn_pipeline.serving.prediction_log import prediction_log_from_environ
from churn_pipeline.serving.responses import (
    PredictResponse,
    ServedPrediction,
    ServiceMetadata,
)
from churn_pipeline.serving.runtime import (
    freeze_startup_objects,
    service_config,
    whole_number_setting,
)
from churn_pipeline.serving.schema import (
    MAX_ACCOUNTS_PER_REQUEST,
    AccountPrediction,
    account_features_model,
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
REFRESH_S = whole_number_setting(os.environ, "CHURN_MODEL_REFRESH_S", 30, minimum=0)

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
    SERVED.model.numeric_features_, SERVED.model.categorical_features_
)
AccountRequest = account_request_model(AccountFeatures)
FEATURE_NAMES = tuple(
    name for name in AccountFeatures.model_fields if name != "account_id"
)
# Two real accounts (python -m churn_pipeline.serving.metadata writes the file),
# with the fields the served model takes: the docs' example and the warm-up.
EXAMPLE = {
    "accounts": [
        {name: account.get(name) for name in AccountFeatures.model_fields}
        for account in json.loads(
            Path(__file__).with_name("example_request.json").read_text()
        )["accounts"]
    ]
}
# The docs pages are this app's (served offline, see churn_pipeline.serving.docs);
# FastAPI's own would load Swagger UI from a CDN and describe this app alone.
metadata_app = FastAPI(
    title="churn model metadata", docs_url=None, redoc_url=None, openapi_url=None
)
Scored = tuple[AccountPrediction, str, list[str]]


class StoreDownError(RuntimeError):
    """The online store cannot answer (or none is configured)."""


# Mounted at the root: a mount at /metadata would answer /metadata with a redirect.
@bentoml.asgi_app(metadata_app, path="/")
@bentoml.service(**service_config(os.environ))
class ChurnService:
    """Real-time churn probabilities, risk bands, reasons and actions."""

    def __init__(self) -> None:
        self.ready = False
        self._known: dict[str, dict[str, frozenset[str | None]]] = {}
        # A model that cannot score never serves: warmed up before traffic, and
        # before any later champion replaces it.
        self._accept(SERVED)
        self.follower = ChampionFollower(
            SERVED,
            accept=self._accept,
            interval_s=REFRESH_S if MODEL_SOURCE == "mlflow" else 0,
        )
        self.store: OnlineStore | None = open_online_store(os.environ)
        self.predictions_log = prediction_log_from_environ(os.environ)
        self.batcher = MicroBatcher(
            self._score,
            max_batch_size=MAX_BATCH_ACCOUNTS,
            max_wait_turns=BATCH_WAIT_TURNS,
        )
        frozen = freeze_startup_objects(os.environ)
        self.follower.start()
        self.ready = True
        logger.info(
            "Serving %s (version %s); online store: %s; %d start-up objects "
            "frozen out of garbage collection",
            SERVED.uri,
            SERVED.version,
            "none" if self.store is None else self.store.describe(),
            frozen,
        )

    def _accept(self, served: ServedModel) -> None:
        """Check a model fits the request schema, warm it up, read its categories."""
        model = served.model
        features = (*model.numeric_features_, *model.categorical_features_)
        if set(features) != set(FEATURE_NAMES):
            raise ValueError(
                "its features differ from the request schema this service was "
                "started with; restart the service to serve it"
            )
        account = AccountFeatures.model_validate(EXAMPLE["accounts"][0])
        predict_accounts(model, served.policy, [account], explainer=served.explainer)
        self._known[served.version] = known_categories(model)

    def _score(self, accounts: list[Any]) -> list[Scored]:
        """Score with the current champion: one model for the whole call."""
        served = self.follower.current
        known = self._known[served.version]
        predictions = predict_accounts(
            served.model, served.policy, accounts, explainer=served.explainer
        )
        return [
            (p, served.version, unknown_categories(a, known))
            for p, a in zip(predictions, accounts, strict=True)
        ]

    def __is_ready__(self) -> bool:
        return self.ready and (self.store is None or self.store.reachable())

    @bentoml.api(route="/predict")
    async def predict(
        self,
        accounts: Annotated[
            list[AccountRequest],  # type: ignore[valid-type]
            Field(
                min_length=1,
                max_length=MAX_ACCOUNTS,
                description="Accounts to score: an id alone (features from the "
                "online store), an id with the features to override, or an id "
                "with every feature.",
            ),
        ],
    ) -> PredictResponse:
        """Score accounts: probability, health, reasons, playbook action, contact."""
        wanted = [a.account_id for a in accounts if needs_lookup(a, FEATURE_NAMES)]
        try:
            stored = await self._lookup(wanted) if wanted else {}
        except StoreDownError as error:
            # BentoML answers a raised 5xx with a generic text; this one must
            # say which store is down. Nothing is scored.
            return JSONResponse({"error": str(error)}, status_code=503)  # type: ignore[return-value]
        try:
            resolved = resolve_accounts(
                accounts,
                AccountFeatures,
                stored,
                max_age_days=self.store.max_age_days if self.store else 0.0,
                today=today_utc(),
            )
        except UnknownAccountsError as error:
            raise NotFound(str(error)) from None
        except InvalidAccountError as error:
            raise InvalidArgument(str(error)) from None
        scored = await self.batcher.submit([r.features for r in resolved])
        predictions = [
            ServedPrediction.model_construct(
                **prediction.__dict__,
                model_version=version,
                features_as_of=account.features_as_of,
                overridden=list(account.overridden),
                stale=account.stale,
                unknown_categories=unknown,
            )
            for (prediction, version, unknown), account in zip(
                scored, resolved, strict=True
            )
        ]
        version = predictions[0].model_version
        if self.predictions_log is not None:
            self.predictions_log.record(
                (p.__dict__ for p in predictions),
                model_name=self.follower.current.name,
                model_version=version,
            )
        return PredictResponse(
            model_uri=self.follower.current.uri,
            model_version=version,
            predictions=predictions,
        )

    async def _lookup(self, account_ids: list[str]) -> dict[str, Any]:
        if self.store is None:
            raise StoreDownError(
                "No online feature store is configured, so accounts must carry "
                "every feature field. Run `kedro run --pipelines daily_scoring` "
                "to fill one (see docs/serving.md)."
            )
        try:
            return await asyncio.to_thread(self.store.read, account_ids)
        except self.store.unavailable as error:
            raise StoreDownError(str(error)) from None

    @metadata_app.get("/metadata", response_model=ServiceMetadata, tags=["Model"])
    def get_metadata(self) -> ServiceMetadata:
        """The served model's metadata and the online store's freshness."""
        model = model_metadata(self.follower.current, max_accounts=MAX_ACCOUNTS)
        return ServiceMetadata(
            **model.model_dump(),
            online_store=None if self.store is None else self.store.freshness(),
        )

    # Routes of the app mounted at the root win over BentoML's own "/" and
    # "/docs.json" (its router tries the mounted app first).
    @metadata_app.get("/docs.json", include_in_schema=False)
    def get_api_document(self) -> JSONResponse:
        """The OpenAPI document, naming the model that serves now."""
        served = self.follower.current
        return JSONResponse(
            api_document(
                ChurnService.openapi_spec.asdict(),
                model_name=served.name,
                model_version=served.version,
                model_uri=served.uri,
                example=EXAMPLE,
                rules=rules_for(FEATURE_NAMES),
            )
        )

    @metadata_app.get("/", include_in_schema=False)
    @metadata_app.get("/docs", include_in_schema=False)
    def get_docs(self) -> HTMLResponse:
        """Swagger UI on this server's own copy of its assets."""
        served = self.follower.current
        return docs_page(api_title(served.name, served.version))


ChurnService.add_asgi_middleware(
    BodySizeLimitMiddleware,
    max_bytes=whole_number_setting(os.environ, MAX_BODY_ENV, DEFAULT_MAX_BODY_BYTES),
)
if os.environ.get(API_KEY_ENV):
    ChurnService.add_asgi_middleware(APIKeyMiddleware, api_key=os.environ[API_KEY_ENV])
# Last, so its middlewares run after the API key check: see
# churn_pipeline.serving.hardening.
from churn_pipeline.serving.hardening import harden  # noqa: E402

harden(ChurnService, os.environ)
