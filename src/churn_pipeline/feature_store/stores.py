"""Direct access to the online store's data, for either kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from churn_pipeline.feature_store.models import StoredFeatures
from churn_pipeline.feature_store.redis_store import RedisStore
from churn_pipeline.feature_store.settings import OnlineStoreSettings
from churn_pipeline.feature_store.sqlite_store import SqliteStore


class StoreAccess(Protocol):
    """What the reader and the writer need from a store (errors: StoreUnavailable)."""

    kind: str

    def fetch(
        self, account_ids: Sequence[str], features: Sequence[str]
    ) -> dict[str, StoredFeatures]:
        """Stored features of ``account_ids`` (absent when not stored).

        Args:
            account_ids: Accounts to read.
            features: Features to return (missing ones as None).
        """
        ...

    def read_manifest(self) -> str | None:
        """The stored manifest JSON, or None."""
        ...

    def write_manifest(self, text: str) -> None:
        """Store the manifest JSON."""
        ...

    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""
        ...

    def close(self) -> None:
        """Close connections."""
        ...


def open_store(settings: OnlineStoreSettings, *, timeout: float = 1.0) -> StoreAccess:
    """The store access for ``settings.kind`` (connects lazily)."""
    if settings.kind == "sqlite":
        return SqliteStore(settings, timeout=timeout)
    return RedisStore(settings, timeout=timeout)
