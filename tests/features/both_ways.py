"""Build the model input with the Ibis build (DuckDB) and with the pandas reference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import pandas as pd
from tests.features import pandas_reference

from churn_pipeline.features import engine
from churn_pipeline.features.build import TABLES, model_input, timeline
from churn_pipeline.features.pit import KEYS


def engine_and_reference(
    tables: Mapping[str, pd.DataFrame],
    key_columns: Sequence[str],
    *,
    dates: Sequence[pd.Timestamp] | None = None,
    min_history_days: int = 60,
    max_snapshots: int = 12,
    threads: int = 2,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The model input both ways, on the as-of dates the timeline places.

    Args:
        tables: Validated tables in pandas.
        key_columns: Usage columns counted as key features.
        dates: As-of dates to build; ``None``: the timeline's.
        min_history_days: Usage history each as-of date needs.
        max_snapshots: At most this many as-of dates.
        threads: DuckDB threads.

    Returns:
        ``(ibis_build, pandas_reference)``; both empty when no account is active
        (the reference needs one).
    """
    memtables = {name: ibis.memtable(tables[name]) for name in TABLES}
    con = engine.connect("duckdb", {"threads": threads})
    line = timeline(
        con,
        memtables,
        observation_end=None,
        min_history_days=min_history_days,
        max_snapshots=max_snapshots,
    )
    options = {
        "horizon_days": 30,
        "observation_end": line.observation_end,
        "key_columns": list(key_columns),
        "usage_start": line.usage_start,
    }
    dates = list(dates or line.dates)
    expected = engine.execute(con, model_input(memtables, dates, **options), KEYS)
    if expected.empty:
        return expected, expected
    return expected, pandas_reference.model_input(tables, dates, **options)
