"""Small feature frames and generated repositories for the feature store tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from churn_pipeline.feature_store import OnlineStoreSettings, write_feature_repo

NUMERIC = ["mrr", "seats", "tenure_days"]
CATEGORICAL = ["plan", "country"]
KINDS = ["sqlite", "redis"]

MakeSettings = Callable[..., OnlineStoreSettings]


def feature_frame(as_of: str, offset: float = 0.0) -> pd.DataFrame:
    """Three accounts: a null numeric (A2's mrr), a null categorical (A3's)."""
    return pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "as_of_date": pd.to_datetime([as_of] * 3),
            "mrr": [500.0 + offset, np.nan, 0.1 + 0.2 + offset],
            "seats": [10, 3, 50],
            "tenure_days": [1e-300, -2.5, 123456789.123456789],
            "plan": ["pro", "basic", "enterprise"],
            "country": ["US", "DE", None],
        }
    )


def expected_values(frame: pd.DataFrame) -> dict[str, dict[str, float | str | None]]:
    """What the reader must return for ``frame``: floats, str, None for missing."""
    expected = {}
    for row in frame.to_dict("records"):
        values: dict[str, float | str | None] = {}
        for name in NUMERIC:
            values[name] = None if pd.isna(row[name]) else float(row[name])
        for name in CATEGORICAL:
            values[name] = None if row[name] is None else str(row[name])
        expected[row["account_id"]] = values
    return expected


def write_repo(
    settings: OnlineStoreSettings, offline: pd.DataFrame | None = None
) -> Path:
    """Generate the repository; its offline source holds ``offline`` if given."""
    source = Path(settings.repo_path).parent / "offline.parquet"
    if offline is not None:
        offline.to_parquet(source)
    return write_feature_repo(
        settings, numeric=NUMERIC, categorical=CATEGORICAL, offline_source=source
    )
