"""Generate the seeded demo SaaS business into the raw layer."""

from __future__ import annotations

from typing import Any

import pandas as pd

from churn_pipeline.demo_data import DemoDataConfig, generate_demo_data
from churn_pipeline.validation import RAW_TABLES

RAW_TABLE_NAMES = tuple(RAW_TABLES)


def generate_raw_tables(params: dict[str, Any]) -> tuple[pd.DataFrame, ...]:
    """Simulate the demo business.

    Args:
        params: ``demo_data`` parameters (``DemoDataConfig`` fields).

    Returns:
        The six raw tables in ``RAW_TABLE_NAMES`` order.
    """
    tables = generate_demo_data(DemoDataConfig(**params))
    return tuple(tables[name] for name in RAW_TABLE_NAMES)
