"""Fixtures of the model tests: synthetic snapshots and one fitted ensemble."""

from __future__ import annotations

import pandas as pd
import pytest
from tests.models import synthetic

from churn_pipeline.models import ChurnEnsemble


@pytest.fixture(scope="session")
def fitted_model() -> ChurnEnsemble:
    """The shared ensemble fitted on the synthetic training snapshots."""
    return synthetic.fitted_model()


@pytest.fixture
def train() -> pd.DataFrame:
    """Eight labelled monthly snapshots (a copy the test may change)."""
    return synthetic.training_table()


@pytest.fixture
def holdout() -> pd.DataFrame:
    """Two later labelled snapshots the model never saw (a copy)."""
    return synthetic.holdout_table()
