"""The ensemble's fitting rows: slice checks, row weights, slice dates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def check_slice(
    name: str, y: np.ndarray, slices: Mapping[str, Any], horizon_days: int
) -> None:
    """Refuse an empty or one-class fitting slice, saying which and why."""
    key = "member_fit" if name == "member" else name
    where = slices[key]
    dates = "random rows" if isinstance(where, str) else ", ".join(where) or "none"
    if len(y) == 0:
        raise ValueError(
            f"The {name} slice is empty (its as-of dates: {dates}): the member "
            f"slice needs dates whose {horizon_days}-day labels close before the "
            f"calibration dates {', '.join(slices['calibration'])}; add history "
            "or lower n_calibration_periods (model_training.n_calibration_snapshots)"
        )
    if len(np.unique(y)) < 2:
        raise ValueError(
            f"The {name} slice has a single class (all {int(y[0])}, {len(y)} rows, "
            f"as-of dates: {dates}); add history with churners and non-churners"
        )


def checked_weight(
    sample_weight: pd.Series | np.ndarray | None, n_rows: int
) -> np.ndarray | None:
    """``sample_weight`` as floats, refused unless one positive finite per row."""
    if sample_weight is None:
        return None
    weight = np.asarray(sample_weight, dtype=float)
    if weight.shape != (n_rows,) or not np.all(np.isfinite(weight) & (weight > 0)):
        bad = weight[~(np.isfinite(weight) & (weight > 0))][:5]
        raise ValueError(
            f"sample_weight must hold one positive finite weight per row of X "
            f"({n_rows}); got shape {weight.shape}, offending values {bad.tolist()}"
        )
    return weight


def rows_of(weight: np.ndarray | None, mask: np.ndarray) -> np.ndarray | None:
    """The weights of the rows ``mask`` keeps (``None`` stays ``None``)."""
    return None if weight is None else weight[mask]


def slice_dates(periods: pd.Series) -> list[str]:
    """Distinct dates of a slice as ISO strings, oldest first."""
    return [str(pd.Timestamp(d).date()) for d in np.sort(periods.unique())]
