"""Fixtures of the customer_table tests."""

from __future__ import annotations

import pandas as pd
import pytest
from tests.pipelines.customer_table.tables import make_raw


@pytest.fixture
def raw() -> pd.DataFrame:
    """400 customers as text, three blank charges."""
    return make_raw()
