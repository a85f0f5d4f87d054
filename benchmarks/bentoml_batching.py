"""The churn service with BentoML's adaptive batching, for the serving A/B only.

``serving.service`` batches concurrent requests with its own
:class:`~churn_pipeline.serving.batching.MicroBatcher`. This service scores the
same champion through BentoML's dispatcher instead
(``@bentoml.api(batchable=True)``), with the same server configuration, the
same middlewares and the same garbage-collector freeze, so that
``benchmarks.ab_serving`` can compare the two (docs/benchmarks.md).

It takes complete feature vectors only (``{"accounts": [...]}``) and answers a
bare list of predictions: a batchable endpoint's answer is the list its batch
is split from, so it has no room for the model version around the predictions.
``BENCH_MAX_LATENCY_MS`` (default 1000) is the dispatcher's latency budget;
``CHURN_MAX_BATCH_ACCOUNTS`` its largest batch, as for the micro-batcher.
"""

from __future__ import annotations

import os

import bentoml
from serving.service import (
    MAX_BATCH_ACCOUNTS,
    SERVED,
    AccountFeatures,
    predict_accounts,
)

from churn_pipeline.serving.limits import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_BODY_ENV,
    BodySizeLimitMiddleware,
)
from churn_pipeline.serving.lookup import known_categories, unknown_categories
from churn_pipeline.serving.responses import ServedPrediction
from churn_pipeline.serving.runtime import (
    freeze_startup_objects,
    service_config,
    whole_number_setting,
)

MAX_LATENCY_MS = whole_number_setting(os.environ, "BENCH_MAX_LATENCY_MS", 1000)


@bentoml.service(**service_config(os.environ))
class BatchedChurnService:
    """The champion's predictions, batched by BentoML's dispatcher."""

    def __init__(self) -> None:
        self.known = known_categories(SERVED.model)
        freeze_startup_objects(os.environ)

    @bentoml.api(
        route="/predict",
        batchable=True,
        max_batch_size=MAX_BATCH_ACCOUNTS,
        max_latency_ms=MAX_LATENCY_MS,
    )
    def predict(
        self,
        accounts: list[AccountFeatures],  # type: ignore[valid-type]
    ) -> list[ServedPrediction]:
        """Score the accounts of every request in the batch in one call."""
        predictions = predict_accounts(SERVED.model, SERVED.policy, accounts)
        return [
            ServedPrediction.model_construct(
                **prediction.__dict__,
                model_version=SERVED.version,
                features_as_of=None,
                overridden=[],
                stale=False,
                unknown_categories=unknown_categories(account, self.known),
            )
            for prediction, account in zip(predictions, accounts, strict=True)
        ]


BatchedChurnService.add_asgi_middleware(
    BodySizeLimitMiddleware,
    max_bytes=whole_number_setting(os.environ, MAX_BODY_ENV, DEFAULT_MAX_BODY_BYTES),
)
# Last, as in serving.service: its middlewares run after the others.
from churn_pipeline.serving.hardening import harden  # noqa: E402

harden(BatchedChurnService, os.environ)
