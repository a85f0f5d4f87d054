"""The rule that keeps training labels before a later slice starts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_pipeline.evaluation.time_split import labels_known_by


@pytest.mark.parametrize(
    ("as_of", "cutoff", "horizon_days", "known"),
    [
        # Label window (t, t + horizon] ends exactly at the cutoff: allowed.
        ("2024-01-01", "2024-01-31", 30, True),
        # One day later it reaches past the cutoff: not allowed.
        ("2024-01-02", "2024-01-31", 30, False),
        ("2024-01-01", "2024-01-30", 30, False),
        # Well before / at / after the cutoff.
        ("2023-11-30", "2024-01-31", 30, True),
        ("2024-01-31", "2024-01-31", 30, False),
        ("2024-02-29", "2024-01-31", 30, False),
        # Month ends: 2024-01-31 + 30 days = 2024-03-01 > 2024-02-29.
        ("2024-01-31", "2024-02-29", 30, False),
        ("2024-01-30", "2024-02-29", 30, True),
        # Other horizons.
        ("2024-01-01", "2024-03-31", 90, True),
        ("2024-01-01", "2024-03-30", 90, False),
        ("2024-01-31", "2024-01-31", 0, True),
    ],
)
def test_label_window_boundaries(
    as_of: str, cutoff: str, horizon_days: int, known: bool
) -> None:
    mask = labels_known_by(
        pd.Series(pd.to_datetime([as_of])), pd.Timestamp(cutoff), horizon_days
    )

    np.testing.assert_array_equal(mask, [known])


def test_mask_is_positional_boolean_array() -> None:
    dates = pd.Series(
        pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-15"]), index=[10, 3, 7]
    )

    mask = labels_known_by(dates, pd.Timestamp("2024-03-01"), 30)

    assert isinstance(mask, np.ndarray)
    assert mask.dtype == bool
    np.testing.assert_array_equal(mask, [False, True, False])


def test_accepts_date_strings() -> None:
    mask = labels_known_by(
        pd.Series(["2024-01-01", "2024-01-02"]), pd.Timestamp("2024-01-31"), 30
    )

    np.testing.assert_array_equal(mask, [True, False])
