"""Write a scored day's account features to the online store through Feast."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from redis import RedisError

from churn_pipeline.batching import row_batches
from churn_pipeline.feature_store.models import StoreManifest, StoreUnavailable
from churn_pipeline.feature_store.repo import (
    JOIN_KEY,
    TIMESTAMP_FIELD,
    FeastDefinitions,
    check_feature_names,
    repo_config,
)
from churn_pipeline.feature_store.repo_sync import ensure_feature_repo
from churn_pipeline.feature_store.settings import OnlineStoreSettings
from churn_pipeline.feature_store.sqlite_store import use_wal
from churn_pipeline.feature_store.stores import open_store

if TYPE_CHECKING:
    from feast import FeatureStore

logger = logging.getLogger(__name__)

# Rows handed to Feast at a time. Feast turns every value of a write into a
# protobuf object first: 660k accounts x 66 features in one call took 23 GB.
WRITE_BATCH_ROWS = 10_000


def write_online(
    settings: OnlineStoreSettings,
    features: pd.DataFrame,
    *,
    numeric: Sequence[str],
    categorical: Sequence[str],
    batch_rows: int = WRITE_BATCH_ROWS,
) -> StoreManifest:
    """Apply the repository's definitions and write ``features`` online.

    The repository at ``settings.repo_path`` is (re)generated first when it
    is missing or was generated for other settings or features (see
    ``repo_sync``). Values are written with Feast's ``write_to_online_store``
    (last write wins per account); then the manifest is stored next to them.

    Args:
        settings: The online store settings.
        features: One row per account: ``account_id``, ``as_of_date`` (naive
            timestamps are taken as UTC) and the feature columns.
        numeric: Numeric feature names (written as float64; missing as null).
        categorical: Categorical feature names (written as text; missing as null).
        batch_rows: Rows per Feast write (memory grows with it, not with the
            accounts); the manifest is stored after the last batch.

    Returns:
        The manifest stored with the features.

    Raises:
        ValueError: On a malformed frame.
        StoreUnavailable: When the store cannot be reached or written.
    """
    numeric, categorical = list(numeric), list(categorical)
    check_feature_names(numeric, categorical)
    frame = prepare_frame(features, numeric, categorical)
    # Slices of the frame Feast writes, checked before the repository is touched.
    batches = row_batches(len(frame), batch_rows, progress="Online store written")
    definitions = ensure_feature_repo(settings, numeric, categorical, frame)
    logger.info(
        "Writing %d accounts x %d features to the %s",
        len(frame),
        len(numeric) + len(categorical),
        settings.describe(),
    )
    started = time.perf_counter()
    _write_through_feast(settings, definitions, frame, batches)
    manifest = StoreManifest(
        as_of_date=frame[TIMESTAMP_FIELD].max().to_pydatetime(),
        n_accounts=len(frame),
        written_at=datetime.now(UTC),
        feature_view=settings.feature_view,
        features=(*numeric, *categorical),
    )
    backend = open_store(settings)
    try:
        backend.write_manifest(manifest.to_json())
    finally:
        backend.close()
    logger.info(
        "Wrote %d accounts (as of %s) in %.1f s",
        manifest.n_accounts,
        manifest.as_of_date.date(),
        time.perf_counter() - started,
    )
    return manifest


def _write_through_feast(
    settings: OnlineStoreSettings,
    definitions: FeastDefinitions,
    frame: pd.DataFrame,
    batches: Iterable[slice],
) -> None:
    """Apply the definitions and write ``frame`` with Feast's SDK, in batches.

    Raises:
        StoreUnavailable: When the store cannot be reached or written.
    """
    from feast import FeatureStore  # noqa: PLC0415 (Feast takes seconds to import)

    try:
        if settings.kind == "sqlite":
            use_wal(settings.sqlite_file())
        store = FeatureStore(repo_path=settings.repo_path, config=repo_config(settings))
        store.apply([definitions.entity, definitions.source, definitions.feature_view])
        try:
            for rows in batches:
                store.write_to_online_store(settings.feature_view, df=frame.iloc[rows])
        finally:
            _close_feast_connections(store)
    except (sqlite3.Error, RedisError) as error:
        raise StoreUnavailable(
            f"{settings.describe()}: cannot write features: {error}"
        ) from error


def prepare_frame(
    features: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> pd.DataFrame:
    """Check ``features`` and coerce it to what Feast writes.

    Ids become str, ``as_of_date`` UTC timestamps, numeric features float64
    (NaN for missing, which Feast stores as null), categorical features str or
    None.

    Raises:
        ValueError: On missing columns, no rows, null or duplicate ids, null
            as-of dates, non-numeric values or all features null.
    """
    required = [JOIN_KEY, TIMESTAMP_FIELD, *numeric, *categorical]
    missing = [column for column in required if column not in features.columns]
    if missing:
        raise ValueError(f"Feature frame lacks columns {missing}")
    if features.empty:
        raise ValueError("Feature frame has no rows: nothing to write online")
    source = features.reset_index(drop=True)
    if source[JOIN_KEY].isna().any():
        raise ValueError(f"Feature frame has null {JOIN_KEY}s")
    ids = source[JOIN_KEY].astype(str)
    duplicated = ids[ids.duplicated()].unique().tolist()
    if duplicated:
        raise ValueError(f"{JOIN_KEY}s listed more than once: {duplicated[:5]}")
    as_of = pd.to_datetime(source[TIMESTAMP_FIELD], utc=True)
    if as_of.isna().any():
        raise ValueError(f"Feature frame has null {TIMESTAMP_FIELD}s")
    columns: dict[str, pd.Series] = {JOIN_KEY: ids, TIMESTAMP_FIELD: as_of}
    for name in numeric:
        columns[name] = _numeric(source[name], name)
    for name in categorical:
        text = source[name].astype("string")
        columns[name] = text.astype(object).where(text.notna(), None)
    frame = pd.DataFrame(columns)
    if frame[[*numeric, *categorical]].isna().all().all():
        raise ValueError("Every feature value is null: nothing to write online")
    return frame


def _numeric(values: pd.Series, name: str) -> pd.Series:
    try:
        numbers = pd.to_numeric(values, errors="raise")
    except (ValueError, TypeError) as error:
        raise ValueError(f"Numeric feature {name!r} holds non-numbers") from error
    return pd.Series(numbers.to_numpy(dtype="float64", na_value=np.nan))


def _close_feast_connections(store: FeatureStore) -> None:
    """Close the connection Feast's online store object keeps open.

    Feast's ``FeatureStore.close`` is async and leaves SQLite's connection
    open, so a long-lived process would hold the file until garbage collection.
    """
    online_store = store._get_provider().online_store
    for attribute in ("_conn", "_client"):
        connection = getattr(online_store, attribute, None)
        if connection is not None:
            connection.close()
            setattr(online_store, attribute, None)
