"""Specs of the billing features: failed payments and retries."""

from __future__ import annotations

from churn_pipeline.features.specs.base import numeric, windowed

BILLING = (
    *windowed(
        "failed_payments",
        "Failed invoices",
        "{value:.0f} failed payments in the last {days} days",
        (30, 90),
        (0.0, 0.0),
        "invoices",
        driver="payment",
    ),
    numeric(
        "payment_retries_90d",
        "Charge retries (attempts beyond the first) on invoices of the last 90 days.",
        "count",
        "invoices",
        "90d",
        "{value:.0f} payment retries in the last 90 days",
        0.0,
        driver="payment",
    ),
    numeric(
        "days_since_failed_payment",
        "Days since the last failed invoice; empty when none ever failed.",
        "days",
        "invoices",
        None,
        "last failed payment {value:.0f} days ago",
        200.0,
        nullable=True,
        driver="payment",
    ),
)
