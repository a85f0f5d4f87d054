"""The latest NPS answer, its change, the detractor flag and its age."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis.expr.types import Table

from churn_pipeline.features.pit import KEYS, days_between, latest_rows

DETRACTOR_BELOW = 7


def nps_features(
    spine: Table, nps_responses: Table, dates: Sequence[pd.Timestamp]
) -> Table:
    """NPS features per spine row (see the registry for each definition).

    Args:
        spine: ``account_id``, ``as_of_date``.
        nps_responses: Validated answers (``response_id``, ``response_date``,
            ``score``).
        dates: The as-of dates.

    Returns:
        Keys plus the NPS features of the registry.
    """
    order = ibis.window(
        group_by="account_id", order_by=["response_date", "response_id"]
    )
    # The answer before each answer: only earlier rows, so known whenever it is.
    answers = nps_responses.mutate(previous=nps_responses.score.lag().over(order))
    latest = latest_rows(spine, answers, "response_date", "response_id", dates)
    t = spine.select(*KEYS).left_join(latest, KEYS)
    score = t.score.cast("float64")
    return t.select(
        "account_id",
        "as_of_date",
        last_nps=score,
        nps_change=score - t.previous.cast("float64"),
        nps_detractor=ibis.ifelse(score < DETRACTOR_BELOW, 1.0, 0.0).fill_null(0.0),
        days_since_nps=days_between(t.as_of_date, t.response_date).cast("float64"),
    )
