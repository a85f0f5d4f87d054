"""The service's view of the online feature store: reads, reachability, freshness.

Which store: the settings the daily scoring run left in the generated Feast
repository (``CHURN_FEATURE_REPO``, default ``data/06_models/feature_repo``),
with environment overrides (``CHURN_ONLINE_STORE``, ``CHURN_REDIS_URL``,
``CHURN_FEATURE_MAX_AGE_DAYS``). A service with neither a repository nor
``CHURN_ONLINE_STORE`` has no store: complete feature vectors still score.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from churn_pipeline.feature_store import (
    OnlineFeatureReader,
    OnlineStoreSettings,
    StoredFeatures,
    StoreUnavailable,
)
from churn_pipeline.serving.lookup import today_utc
from churn_pipeline.serving.responses import StoreFreshness

logger = logging.getLogger(__name__)

REPO_ENV = "CHURN_FEATURE_REPO"
DEFAULT_REPO = "data/06_models/feature_repo"
KIND_ENV = "CHURN_ONLINE_STORE"


class OnlineStore:
    """Reads stored features by account id for the service.

    Args:
        settings: Which store, where, and the allowed age of its features.
    """

    unavailable = StoreUnavailable

    def __init__(self, settings: OnlineStoreSettings) -> None:
        self.settings = settings
        self.reader = OnlineFeatureReader(settings)

    @property
    def max_age_days(self) -> float:
        """Stored features older than this are answered as stale."""
        return self.settings.max_age_days

    def describe(self) -> str:
        """The kind and location, for logs (no credentials)."""
        if self.settings.kind == "redis":
            host = self.settings.redis_connection_string.split(",", 1)[0]
            return f"redis at {host}"
        return f"sqlite in {self.settings.repo_path}"

    def read(self, account_ids: Sequence[str]) -> dict[str, StoredFeatures]:
        """Stored features of the ids the store holds.

        Raises:
            StoreUnavailable: If the store cannot be reached.
        """
        return self.reader.read(account_ids)

    def reachable(self) -> bool:
        """Whether the store answers now (what ``/readyz`` reports)."""
        try:
            self.reader.ping()
        except StoreUnavailable as error:
            logger.warning("Online store not reachable: %s", error)
            return False
        return True

    def freshness(self, today: date | None = None) -> StoreFreshness:
        """The newest as-of date, account count and write time, or the error."""
        try:
            manifest = self.reader.manifest()
        except StoreUnavailable as error:
            return StoreFreshness(
                kind=self.settings.kind,
                reachable=False,
                max_age_days=self.max_age_days,
                error=str(error),
            )
        if manifest is None:
            return StoreFreshness(
                kind=self.settings.kind,
                reachable=True,
                max_age_days=self.max_age_days,
                error="the store holds no features yet: run the daily_scoring pipeline",
            )
        as_of = pd.Timestamp(manifest.as_of_date).date()
        return StoreFreshness(
            kind=self.settings.kind,
            reachable=True,
            as_of_date=as_of,
            n_accounts=manifest.n_accounts,
            written_at=str(manifest.written_at),
            max_age_days=self.max_age_days,
            stale=((today or today_utc()) - as_of).days > self.max_age_days,
        )


def open_online_store(environ: Mapping[str, str]) -> OnlineStore | None:
    """The store the environment and the generated repository point at.

    Returns:
        ``None`` when no repository exists and ``CHURN_ONLINE_STORE`` is unset.

    Raises:
        ValueError: If a setting is invalid (naming it).
    """
    repo = environ.get(REPO_ENV, DEFAULT_REPO)
    if not (Path(repo) / "churn_store.json").exists() and not environ.get(KIND_ENV):
        logger.warning(
            "No online feature store: %s/churn_store.json does not exist and %s is "
            "unset; requests must carry every feature (run the daily_scoring "
            "pipeline to fill one)",
            repo,
            KIND_ENV,
        )
        return None
    settings: Any = OnlineStoreSettings.from_environ(environ, repo)
    return OnlineStore(settings)
