"""Specs of the NPS features."""

from __future__ import annotations

from churn_pipeline.features.specs.base import numeric

NPS = (
    numeric(
        "last_nps",
        "Most recent NPS score (0-10); empty when never answered.",
        "score",
        "nps_responses",
        None,
        "last NPS score {value:.0f}",
        8.0,
        maximum=10.0,
        nullable=True,
        driver="nps",
    ),
    numeric(
        "nps_change",
        "Last NPS score minus the one before; empty with fewer than two answers.",
        "points",
        "nps_responses",
        None,
        "NPS changed by {value:+.0f} point{s}",
        0.0,
        minimum=-10.0,
        maximum=10.0,
        nullable=True,
        zero_reason="NPS unchanged since the answer before",
        driver="nps",
    ),
    numeric(
        "nps_detractor",
        "1 when the last NPS score is below 7 (0 when never answered).",
        "flag",
        "nps_responses",
        None,
        "NPS detractor (score below 7)",
        0.0,
        maximum=1.0,
        zero_reason="not an NPS detractor",
        driver="nps",
    ),
    numeric(
        "days_since_nps",
        "Days since the last NPS answer; empty when never answered.",
        "days",
        "nps_responses",
        None,
        "last NPS answer {value:.0f} day{s} ago",
        60.0,
        nullable=True,
        driver="nps",
    ),
)
