"""Failed payments, retries and the time since the last failure."""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd
from ibis.expr.types import Table

from churn_pipeline.features.pit import (
    KEYS,
    days_between,
    in_window,
    latest_value,
    windowed,
)

FAILED = "failed"
_WINDOWS = (30, 90)


def billing_features(
    spine: Table, invoices: Table, dates: Sequence[pd.Timestamp]
) -> Table:
    """Billing features per spine row (see the registry for each definition).

    Args:
        spine: ``account_id``, ``as_of_date``.
        invoices: Validated invoices (``invoice_date``, ``status``,
            ``attempts``).
        dates: The as-of dates.

    Returns:
        Keys plus the billing features of the registry.
    """
    paired = windowed(invoices, "invoice_date", dates, max(_WINDOWS))
    failed = paired.status == FAILED
    recent = paired.group_by(KEYS).aggregate(
        **{
            f"failed_payments_{d}d": ibis.ifelse(
                failed & in_window(paired.invoice_date, paired.as_of_date, d), 1, 0
            ).sum()
            for d in _WINDOWS
        },
        payment_retries_90d=(paired.attempts - 1).sum(),
    )
    last_failure = latest_value(
        spine,
        invoices.filter(invoices.status == FAILED),
        "invoice_date",
        "invoice_date",
        dates,
    )
    t = (
        spine.select(*KEYS)
        .left_join(recent, KEYS)
        .left_join(last_failure.rename(last_failure="value"), KEYS)
    )
    return t.select(
        "account_id",
        "as_of_date",
        **{
            name: t[name].fill_null(0).cast("float64")
            for name in (
                "failed_payments_30d",
                "failed_payments_90d",
                "payment_retries_90d",
            )
        },
        days_since_failed_payment=days_between(t.as_of_date, t.last_failure).cast(
            "float64"
        ),
    )
