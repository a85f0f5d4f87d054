"""The usage features' calendar: segments between window edges.

Every usage window of every as-of date starts and ends on an edge, so summing
usage per segment once and adding the segments up per window (a small join)
replaces one pass over the usage rows per window and date.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis.expr.types import Table

from churn_pipeline.features.specs import USAGE_WINDOWS

ONE_DAY = pd.Timedelta(days=1)
_LONGEST = max(USAGE_WINDOWS)
# Window edges before each as-of date: the windows and the 30 days before the
# last 30 (for the trends).
_EDGES = (0, *sorted({*USAGE_WINDOWS, 60}))
ONE_DAY = pd.Timedelta(days=1)


def _cuts(dates: Sequence[pd.Timestamp]) -> list[pd.Timestamp]:
    """Every window edge of every as-of date, sorted (days at midnight)."""
    ends = [t + ONE_DAY for t in dates]
    return sorted({end - pd.Timedelta(days=e) for end in ends for e in _EDGES})


def segments(
    dates: Sequence[pd.Timestamp], history_start: pd.Timestamp | None
) -> tuple[Table, Table]:
    """A calendar of segments between window edges, and which windows hold each.

    Returns:
        ``day -> segment`` for every day from the start of the history (or the
        earliest window start) to the last as-of date, days before every
        window in segment -1; and ``segment, as_of_date, in_<w>d...,
        in_prev_30d`` for each as-of date whose longest window holds the
        segment.
    """
    cuts = _cuts(dates)
    first = cuts[0]
    if history_start is not None:
        first = min(first, pd.Timestamp(history_start).normalize())
    days = pd.date_range(first, cuts[-1] - ONE_DAY, freq="D")
    segment = pd.Series(cuts[1:]).searchsorted(days, side="right")
    segment[days < cuts[0]] = -1
    calendar = ibis.memtable(
        pd.DataFrame({"day": days.date, "segment": segment.astype("int64")}),
        schema={"day": "date", "segment": "int64"},
    )
    rows = []
    for index, start in enumerate(cuts[:-1]):
        for t in dates:
            end = t + ONE_DAY
            back = (end - start).days
            if 0 < back <= _LONGEST:
                rows.append(
                    {
                        "segment": index,
                        "as_of_date": t,
                        **{f"in_{w}d": back <= w for w in USAGE_WINDOWS},
                        "in_prev_30d": 30 < back <= 60,
                    }
                )
    lanes = pd.DataFrame(rows).astype({"as_of_date": "datetime64[ns]"})
    return calendar, ibis.memtable(lanes)
