"""Day indexing of the simulation and calendar arithmetic on day indices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

# Burn-in: existing customers signed up within the three years before the data
# starts, so the base has accounts of every age (0 to 36 months) and churns at
# its steady rate from day one; one year left it too young (churn fell ~15 %
# over the window as it aged).
HISTORY_DAYS = 3 * 365
# B2B products are used mostly on working days.
WEEKEND_ACTIVITY = 0.25
# 1970-01-01 was a Thursday; shifting by 3 makes Monday weekday 0.
_EPOCH_WEEKDAY_SHIFT = 3


@dataclass(frozen=True)
class Timeline:
    """Maps simulation day indices to dates.

    Day 0 is ``HISTORY_DAYS`` before the first recorded day ``start_idx``;
    ``end_idx`` is the last simulated (and observed) day.
    """

    origin: np.datetime64
    start_idx: int
    end_idx: int
    weekday_factor: np.ndarray

    @classmethod
    def build(cls, start: dt.date, end: dt.date) -> Timeline:
        """Create the timeline for an observation window ``[start, end]``."""
        origin = np.datetime64(start, "D") - HISTORY_DAYS
        n_days = HISTORY_DAYS + (end - start).days + 1
        days = (origin + np.arange(n_days)).astype(np.int64)
        weekday = (days + _EPOCH_WEEKDAY_SHIFT) % 7
        factor = np.where(weekday >= 5, WEEKEND_ACTIVITY, 1.0)
        return cls(origin, HISTORY_DAYS, n_days - 1, factor)

    def dates(self, day: np.ndarray) -> np.ndarray:
        """Return ``datetime64[D]`` dates of day indices."""
        return self.origin + day.astype(np.int64)

    def month_of(self, day: np.ndarray) -> np.ndarray:
        """Return months since 1970-01 of day indices."""
        return self.dates(day).astype("datetime64[M]").astype(np.int64)

    def day_of_month(self, day: np.ndarray) -> np.ndarray:
        """Return the day of month (1-31) of day indices."""
        dates = self.dates(day)
        first = dates.astype("datetime64[M]").astype("datetime64[D]")
        return (dates - first).astype(np.int64) + 1

    def billing_day(self, month: np.ndarray, day_of_month: np.ndarray) -> np.ndarray:
        """Return the day index of a billing anniversary in ``month``.

        Anniversaries on the 29th-31st fall on the month's last day when the
        month is shorter.
        """
        first = month.astype("datetime64[M]").astype("datetime64[D]")
        after = (month + 1).astype("datetime64[M]").astype("datetime64[D]")
        length = (after - first).astype(np.int64)
        date = first + np.minimum(day_of_month, length) - 1
        return (date - self.origin).astype(np.int64)
