"""The online feature store: written by the daily scoring job, read by the service.

A generated Feast repository (:func:`write_feature_repo`) defines the account
features; :func:`write_online` writes a scored day through Feast, and
:class:`OnlineFeatureReader` reads an account's stored features at request
time. Names load lazily: importing the settings does not import Feast, which
takes seconds.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from churn_pipeline.feature_store.models import (
        StoredFeatures,
        StoreManifest,
        StoreUnavailable,
    )
    from churn_pipeline.feature_store.reader import OnlineFeatureReader
    from churn_pipeline.feature_store.repo import write_feature_repo
    from churn_pipeline.feature_store.settings import OnlineStoreSettings
    from churn_pipeline.feature_store.writer import write_online

_MODULES = {
    "OnlineStoreSettings": "settings",
    "write_feature_repo": "repo",
    "write_online": "writer",
    "OnlineFeatureReader": "reader",
    "StoredFeatures": "models",
    "StoreManifest": "models",
    "StoreUnavailable": "models",
}

__all__ = [
    "OnlineFeatureReader",
    "OnlineStoreSettings",
    "StoreManifest",
    "StoreUnavailable",
    "StoredFeatures",
    "write_feature_repo",
    "write_online",
]


def __getattr__(name: str) -> Any:
    """Import the module defining ``name`` on first access."""
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_MODULES[name]}")
    return getattr(module, name)
