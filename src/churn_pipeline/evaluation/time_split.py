"""Time-ordered splitting rules shared by the train/test split and the ensemble."""

from __future__ import annotations

import numpy as np
import pandas as pd


def labels_known_by(
    as_of_dates: pd.Series, cutoff: pd.Timestamp, horizon_days: int
) -> np.ndarray:
    """Rows whose whole label window ``(t, t + horizon]`` ends by ``cutoff``.

    Training on such rows only means no training label was observed after the
    first date the model is judged (or calibrated) on.

    Args:
        as_of_dates: As-of date of each row.
        cutoff: First as-of date of the later slice.
        horizon_days: Label horizon in days.

    Returns:
        Boolean mask, one entry per row.
    """
    label_end = pd.to_datetime(as_of_dates) + pd.Timedelta(days=horizon_days)
    return np.asarray(label_end <= cutoff)
