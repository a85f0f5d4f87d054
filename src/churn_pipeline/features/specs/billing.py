"""Specs of the billing features: failed payments and retries."""

from __future__ import annotations

from churn_pipeline.features.specs.base import numeric, windowed

BILLING = (
    *windowed(
        "failed_payments",
        "Failed invoices",
        "{value:.0f} failed payment{s} in the last {days} days",
        (30, 90),
        (0.0, 0.0),
        "invoices",
        zero_reason="no failed payments in the last {days} days",
        driver="payments",
    ),
    numeric(
        "payment_retries_90d",
        "Charge retries (attempts beyond the first) on invoices of the last 90 days.",
        "count",
        "invoices",
        "90d",
        "{value:.0f} payment {s:retry|retries} in the last 90 days",
        0.0,
        zero_reason="no payment retries in the last 90 days",
        driver="payments",
    ),
    numeric(
        "days_since_failed_payment",
        "Days since the last failed invoice; empty when none ever failed.",
        "days",
        "invoices",
        None,
        "last failed payment {value:.0f} day{s} ago",
        200.0,
        nullable=True,
        zero_reason="a payment failed on the day scored",
        driver="payments",
    ),
)
