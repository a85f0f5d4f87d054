"""Specs of the support-ticket features."""

from __future__ import annotations

from churn_pipeline.features.specs.base import TICKET_WINDOWS, numeric, windowed

TICKETS = (
    *windowed(
        "tickets",
        "Support tickets opened",
        "{value:.0f} tickets opened in the last {days} days",
        TICKET_WINDOWS,
        (0.0, 0.0, 1.0, 2.0),
        "tickets",
        driver="support",
    ),
    numeric(
        "ticket_burst_7d",
        "1 when 3 or more tickets were opened in the last 7 days.",
        "flag",
        "tickets",
        "7d",
        "3 or more tickets in the last 7 days",
        0.0,
        maximum=1.0,
        driver="support",
    ),
    numeric(
        "tickets_open",
        "Support tickets open at the as-of date.",
        "count",
        "tickets",
        None,
        "{value:.0f} support tickets open",
        0.0,
        driver="support",
    ),
    numeric(
        "tickets_open_over_5d",
        "Support tickets open at the as-of date for more than 5 days.",
        "count",
        "tickets",
        None,
        "{value:.0f} support tickets open for more than 5 days",
        0.0,
        driver="support",
    ),
    numeric(
        "oldest_open_ticket_days",
        "Age in days of the oldest ticket still open (0 when none is open).",
        "days",
        "tickets",
        None,
        "a ticket has been open for {value:.0f} days",
        0.0,
        driver="support",
    ),
    numeric(
        "high_priority_share_90d",
        "Share of the tickets opened in the last 90 days with high or urgent "
        "priority (0 when there were none).",
        "fraction",
        "tickets",
        "90d",
        "{value:.0%} of recent tickets high priority",
        0.25,
        maximum=1.0,
        driver="support",
    ),
    numeric(
        "mean_resolution_days_90d",
        "Mean days from opening to closing of tickets closed in the last 90 days; "
        "empty when none was closed.",
        "days",
        "tickets",
        "90d",
        "tickets took {value:.1f} days to resolve",
        1.5,
        nullable=True,
        driver="support",
    ),
    numeric(
        "mean_satisfaction_90d",
        "Mean satisfaction (1-5) of tickets closed in the last 90 days; empty "
        "when none was rated.",
        "score",
        "tickets",
        "90d",
        "ticket satisfaction {value:.1f} of 5",
        4.2,
        minimum=1.0,
        maximum=5.0,
        nullable=True,
        driver="support",
    ),
)
