"""The feature registry: one entry per model feature.

Documentation, reason texts and the serving schema all read from here, so a
feature is described once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class FeatureSpec:
    """Describes one model feature.

    Attributes:
        name: Column name in the model input table.
        description: Plain-language meaning, used in docs and the API schema.
        kind: ``numeric`` or ``categorical``.
        unit: Unit of a numeric value (``days``, ``count``, ``USD``, ...).
        source: Raw table it is computed from.
        window: Look-back window, if any (e.g. ``30d``).
        reason: Template for a reason text; ``{value}`` is the account's value
            and ``{change}`` reads a relative change as "down 62 %".
        example: A realistic value, used for API examples.
        minimum: Smallest valid value of a numeric feature (``None``: unbounded).
        maximum: Largest valid value of a numeric feature (``None``: unbounded).
        nullable: Whether the value may be unknown (e.g. no NPS answer yet).
        requires: Columns of the source table it needs beyond the contract's
            fixed ones (e.g. the usage count ``logins``); without them the
            feature is left out.
        driver: The kind of churn risk it signals, one of ``DRIVERS``; the
            playbook picks an account's action from its strongest driver.
    """

    name: str
    description: str
    kind: Literal["numeric", "categorical"]
    unit: str
    source: str
    window: str | None
    reason: str
    example: float | str
    minimum: float | None = 0.0
    maximum: float | None = None
    nullable: bool = False
    requires: tuple[str, ...] = ()
    driver: str = "profile"

    def __post_init__(self) -> None:
        if self.driver not in DRIVERS:
            raise ValueError(
                f"Feature {self.name!r}: driver must be one of {list(DRIVERS)}, "
                f"got {self.driver!r}"
            )


# What a feature's risk is about; each has a playbook action, except ``profile``
# (industry, country, ...): who the customer is, which no action changes.
DRIVERS = (
    "usage",
    "support",
    "payment",
    "price_value",
    "onboarding",
    "sentiment",
    "profile",
)
# Look-back windows (days) of the windowed counts.
USAGE_WINDOWS = (7, 14, 30, 90)
TICKET_WINDOWS = (7, 10, 30, 90)
# Key features of the contract's usage table that get their own counts (each
# needs its column); ``feature_engineering.key_feature_columns`` sets which
# columns the summed key-feature counts add up.
KEY_FEATURES = ("reports", "dashboards", "integrations", "automations")
# Mean length of a Gregorian month, for tenure in months.
DAYS_PER_MONTH = 30.4375


def _numeric(
    name: str,
    description: str,
    unit: str,
    source: str,
    window: str | None,
    reason: str,
    example: float,
    **options: object,
) -> FeatureSpec:
    return FeatureSpec(
        name, description, "numeric", unit, source, window, reason, example, **options
    )


def _categorical(
    name: str,
    description: str,
    source: str,
    reason: str,
    example: str,
    *,
    driver: str,
) -> FeatureSpec:
    return FeatureSpec(
        name,
        description,
        "categorical",
        "",
        source,
        None,
        reason,
        example,
        driver=driver,
    )


def _windowed(
    stem: str,
    what: str,
    reason: str,
    windows: tuple[int, ...],
    examples: tuple[float, ...],
    source: str,
    **options: object,
) -> tuple[FeatureSpec, ...]:
    """One count feature per look-back window: ``<stem>_<days>d``."""
    return tuple(
        _numeric(
            f"{stem}_{days}d",
            f"{what} in the {days} days up to the as-of date.",
            "count",
            source,
            f"{days}d",
            reason.replace("{days}", str(days)),
            example,
            **options,
        )
        for days, example in zip(windows, examples, strict=True)
    )


_TENURE = (
    _numeric(
        "tenure_days",
        "Days since the account signed up.",
        "days",
        "accounts",
        None,
        "account is {value:.0f} days old",
        120.0,
        driver="onboarding",
    ),
    _numeric(
        "tenure_months",
        f"Whole months since signup (days / {DAYS_PER_MONTH}, rounded down).",
        "months",
        "accounts",
        None,
        "customer for {value:.0f} months",
        4.0,
        driver="onboarding",
    ),
    _numeric(
        "in_first_90_days",
        "1 while the account is in its first 90 days (when most churn happens).",
        "flag",
        "accounts",
        None,
        "still in its first 90 days",
        0.0,
        maximum=1.0,
        driver="onboarding",
    ),
    _numeric(
        "days_since_plan_change",
        "Days since the last upgrade, downgrade, seat change or reactivation "
        "(tenure if none).",
        "days",
        "subscription_events",
        None,
        "last plan change {value:.0f} days ago",
        90.0,
        driver="price_value",
    ),
    _numeric(
        "mrr",
        "Monthly recurring revenue at the as-of date.",
        "USD",
        "subscription_events",
        None,
        "pays {value:,.0f} per month",
        450.0,
        driver="price_value",
    ),
    _numeric(
        "mrr_change_90d",
        "MRR now minus MRR 90 days earlier (or at signup, if later); negative "
        "after a downgrade.",
        "USD",
        "subscription_events",
        "90d",
        "MRR changed by {value:+,.0f} in 90 days",
        0.0,
        minimum=None,
        driver="price_value",
    ),
    _numeric(
        "seats",
        "Paid seats at the as-of date.",
        "count",
        "subscription_events",
        None,
        "{value:.0f} paid seats",
        10.0,
        driver="price_value",
    ),
    _numeric(
        "discount_pct",
        "Discount granted at signup, as a fraction of list price.",
        "fraction",
        "accounts",
        None,
        "discount of {value:.0%}",
        0.1,
        maximum=1.0,
        driver="price_value",
    ),
)

_USAGE = (
    *_windowed(
        "logins",
        "Logins",
        "{value:.0f} logins in the last {days} days",
        USAGE_WINDOWS,
        (20.0, 40.0, 85.0, 250.0),
        "usage",
        requires=("logins",),
        driver="usage",
    ),
    _numeric(
        "logins_trend_30d",
        "Relative change of logins, last 30 days vs the 30 days before: "
        "(last + 1) / (previous + 1) - 1, so a zero previous window is defined.",
        "relative change",
        "usage",
        "60d",
        "logins {change} vs the previous 30 days",
        -0.2,
        minimum=-1.0,
        requires=("logins",),
        driver="usage",
    ),
    _numeric(
        "logins_per_seat_30d",
        "Logins in the last 30 days per paid seat.",
        "ratio",
        "usage",
        "30d",
        "{value:.1f} logins per paid seat in the last 30 days",
        8.5,
        requires=("logins",),
        driver="price_value",
    ),
    _numeric(
        "active_days_30d",
        "Days with any activity in the last 30 days.",
        "days",
        "usage",
        "30d",
        "active on {value:.0f} of the last 30 days",
        18.0,
        maximum=30.0,
        driver="usage",
    ),
    _numeric(
        "active_days_90d",
        "Days with any activity in the last 90 days.",
        "days",
        "usage",
        "90d",
        "active on {value:.0f} of the last 90 days",
        55.0,
        maximum=90.0,
        driver="usage",
    ),
    _numeric(
        "active_users_per_seat_30d",
        "Mean daily active users on active days over paid seats, last 30 days "
        "(0 when there was no activity).",
        "ratio",
        "usage",
        "30d",
        "{value:.0%} of paid seats active on a typical day",
        0.45,
        requires=("active_users",),
        driver="price_value",
    ),
    _numeric(
        "days_since_last_login",
        "Days since the last active day; when none is on record, days since usage "
        "history (or the account) began.",
        "days",
        "usage",
        None,
        "no login for {value:.0f} days",
        2.0,
        driver="usage",
    ),
    *_windowed(
        "key_feature_uses",
        "Uses of the key features (feature_engineering.key_feature_columns)",
        "{value:.0f} key-feature uses in the last {days} days",
        USAGE_WINDOWS,
        (30.0, 65.0, 140.0, 420.0),
        "usage",
        driver="usage",
    ),
    _numeric(
        "key_feature_trend_30d",
        "Relative change of key-feature uses, last 30 days vs the 30 days before: "
        "(last + 1) / (previous + 1) - 1.",
        "relative change",
        "usage",
        "60d",
        "key-feature use {change} vs the previous 30 days",
        -0.1,
        minimum=-1.0,
        driver="usage",
    ),
    _numeric(
        "distinct_key_features_30d",
        "How many of the key features were used at all in the last 30 days.",
        "count",
        "usage",
        "30d",
        "used {value:.0f} key features in the last 30 days",
        3.0,
        driver="usage",
    ),
    *(
        spec
        for feature in KEY_FEATURES
        for spec in _windowed(
            f"uses_{feature}",
            f"Uses of the {feature} feature",
            f"{{value:.0f}} uses of {feature} in the last {{days}} days",
            USAGE_WINDOWS,
            (8.0, 16.0, 35.0, 105.0),
            "usage",
            requires=(f"uses_{feature}",),
            driver="usage",
        )
    ),
    _numeric(
        "onboarding_features_30d",
        "Onboarding: key features first used within 30 days of signup (as known "
        "at the as-of date).",
        "count",
        "usage",
        None,
        "adopted {value:.0f} key features in its first 30 days",
        3.0,
        driver="onboarding",
    ),
    _numeric(
        "onboarding_features_90d",
        "Onboarding: key features first used within 90 days of signup (as known "
        "at the as-of date).",
        "count",
        "usage",
        None,
        "adopted {value:.0f} key features in its first 90 days",
        4.0,
        driver="onboarding",
    ),
)

_TICKETS = (
    *_windowed(
        "tickets",
        "Support tickets opened",
        "{value:.0f} tickets opened in the last {days} days",
        TICKET_WINDOWS,
        (0.0, 0.0, 1.0, 2.0),
        "tickets",
        driver="support",
    ),
    _numeric(
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
    _numeric(
        "tickets_open",
        "Support tickets open at the as-of date.",
        "count",
        "tickets",
        None,
        "{value:.0f} support tickets open",
        0.0,
        driver="support",
    ),
    _numeric(
        "tickets_open_over_5d",
        "Support tickets open at the as-of date for more than 5 days.",
        "count",
        "tickets",
        None,
        "{value:.0f} support tickets open for more than 5 days",
        0.0,
        driver="support",
    ),
    _numeric(
        "oldest_open_ticket_days",
        "Age in days of the oldest ticket still open (0 when none is open).",
        "days",
        "tickets",
        None,
        "a ticket has been open for {value:.0f} days",
        0.0,
        driver="support",
    ),
    _numeric(
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
    _numeric(
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
    _numeric(
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

_BILLING = (
    *_windowed(
        "failed_payments",
        "Failed invoices",
        "{value:.0f} failed payments in the last {days} days",
        (30, 90),
        (0.0, 0.0),
        "invoices",
        driver="payment",
    ),
    _numeric(
        "payment_retries_90d",
        "Charge retries (attempts beyond the first) on invoices of the last 90 days.",
        "count",
        "invoices",
        "90d",
        "{value:.0f} payment retries in the last 90 days",
        0.0,
        driver="payment",
    ),
    _numeric(
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

_NPS = (
    _numeric(
        "last_nps",
        "Most recent NPS score (0-10); empty when never answered.",
        "score",
        "nps_responses",
        None,
        "last NPS score {value:.0f}",
        8.0,
        maximum=10.0,
        nullable=True,
        driver="sentiment",
    ),
    _numeric(
        "nps_change",
        "Last NPS score minus the one before; empty with fewer than two answers.",
        "points",
        "nps_responses",
        None,
        "NPS changed by {value:+.0f} points",
        0.0,
        minimum=-10.0,
        maximum=10.0,
        nullable=True,
        driver="sentiment",
    ),
    _numeric(
        "nps_detractor",
        "1 when the last NPS score is below 7 (0 when never answered).",
        "flag",
        "nps_responses",
        None,
        "NPS detractor (score below 7)",
        0.0,
        maximum=1.0,
        driver="sentiment",
    ),
    _numeric(
        "days_since_nps",
        "Days since the last NPS answer; empty when never answered.",
        "days",
        "nps_responses",
        None,
        "last NPS answer {value:.0f} days ago",
        60.0,
        nullable=True,
        driver="sentiment",
    ),
)

_CATEGORIES = (
    _categorical(
        "plan",
        "Plan at the as-of date.",
        "subscription_events",
        "on the {value} plan",
        "pro",
        driver="price_value",
    ),
    _categorical(
        "billing_cycle",
        "Billing cycle.",
        "accounts",
        "billed {value}",
        "monthly",
        driver="price_value",
    ),
    _categorical(
        "industry",
        "Industry of the customer.",
        "accounts",
        "industry {value}",
        "software",
        driver="profile",
    ),
    _categorical(
        "acquisition_channel",
        "How the account was acquired.",
        "accounts",
        "acquired via {value}",
        "organic",
        driver="profile",
    ),
    _categorical(
        "country",
        "Country of the customer (ISO 3166-1 alpha-2).",
        "accounts",
        "based in {value}",
        "US",
        driver="profile",
    ),
)

FEATURES: tuple[FeatureSpec, ...] = (
    *_TENURE,
    *_USAGE,
    *_TICKETS,
    *_BILLING,
    *_NPS,
    *_CATEGORIES,
)

NUMERIC_FEATURES: tuple[str, ...] = tuple(
    f.name for f in FEATURES if f.kind == "numeric"
)
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(
    f.name for f in FEATURES if f.kind == "categorical"
)
FEATURES_BY_NAME: dict[str, FeatureSpec] = {f.name: f for f in FEATURES}


def feature_names() -> list[str]:
    """Model feature columns in registry order."""
    return [f.name for f in FEATURES]


def available_features(
    absent_tables: Collection[str] = (),
    columns: Mapping[str, Collection[str]] | None = None,
) -> list[FeatureSpec]:
    """Registry features the data can provide, in registry order.

    Args:
        absent_tables: Optional raw tables declared absent.
        columns: Columns each raw table has (``None``: all it may have); a
            feature whose ``requires`` are missing is left out.

    Returns:
        The features a model can be trained on.
    """
    absent = set(absent_tables)
    columns = columns or {}

    def has_columns(feature: FeatureSpec) -> bool:
        present = columns.get(feature.source)
        return present is None or set(feature.requires) <= set(present)

    return [f for f in FEATURES if f.source not in absent and has_columns(f)]
