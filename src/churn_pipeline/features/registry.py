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
        reason: Template for a reason text; ``{value}`` is the account's value.
        example: A realistic value, used for API examples.
        minimum: Smallest valid value of a numeric feature (``None``: unbounded).
        maximum: Largest valid value of a numeric feature (``None``: unbounded).
        nullable: Whether the value may be unknown (e.g. no NPS answer yet).
        requires: Columns of the source table it needs beyond the contract's
            fixed ones (e.g. the usage count ``logins``); without them the
            feature is left out.
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


FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        "tenure_days",
        "Days since the account signed up.",
        "numeric",
        "days",
        "accounts",
        None,
        "account is {value:.0f} days old",
        120.0,
    ),
    FeatureSpec(
        "mrr",
        "Monthly recurring revenue at the as-of date.",
        "numeric",
        "USD",
        "subscription_events",
        None,
        "pays {value:,.0f} per month",
        450.0,
    ),
    FeatureSpec(
        "seats",
        "Paid seats at the as-of date.",
        "numeric",
        "count",
        "subscription_events",
        None,
        "{value:.0f} paid seats",
        10.0,
    ),
    FeatureSpec(
        "discount_pct",
        "Discount granted at signup, as a fraction of list price.",
        "numeric",
        "fraction",
        "accounts",
        None,
        "discount of {value:.0%}",
        0.1,
        maximum=1.0,
    ),
    FeatureSpec(
        "days_since_plan_change",
        "Days since the last upgrade, downgrade or seat change (tenure if none).",
        "numeric",
        "days",
        "subscription_events",
        None,
        "last plan change {value:.0f} days ago",
        90.0,
    ),
    FeatureSpec(
        "logins_30d",
        "Logins in the 30 days up to the as-of date.",
        "numeric",
        "count",
        "usage",
        "30d",
        "{value:.0f} logins in the last 30 days",
        85.0,
        requires=("logins",),
    ),
    FeatureSpec(
        "logins_trend_30d",
        "Relative change of logins, last 30 days vs the 30 days before: "
        "(last + 1) / (previous + 1) - 1, so a zero previous window is defined.",
        "numeric",
        "ratio",
        "usage",
        "60d",
        "logins changed {value:+.0%} vs the previous 30 days",
        -0.2,
        minimum=-1.0,
        requires=("logins",),
    ),
    FeatureSpec(
        "active_days_30d",
        "Days with at least one login in the last 30 days.",
        "numeric",
        "days",
        "usage",
        "30d",
        "active on {value:.0f} of the last 30 days",
        18.0,
        maximum=30.0,
    ),
    FeatureSpec(
        "active_users_per_seat_30d",
        "Mean daily active users on active days over paid seats, last 30 days "
        "(0 when there was no activity).",
        "numeric",
        "ratio",
        "usage",
        "30d",
        "{value:.0%} of paid seats active on a typical day",
        0.45,
        requires=("active_users",),
    ),
    FeatureSpec(
        "key_feature_uses_30d",
        "Uses of the key features (reports, dashboards, integrations, "
        "automations) in the last 30 days.",
        "numeric",
        "count",
        "usage",
        "30d",
        "{value:.0f} key-feature uses in the last 30 days",
        140.0,
    ),
    FeatureSpec(
        "days_since_last_login",
        "Days since the last login; when none is on record, days since usage "
        "history (or the account) began.",
        "numeric",
        "days",
        "usage",
        None,
        "no login for {value:.0f} days",
        2.0,
    ),
    FeatureSpec(
        "tickets_30d",
        "Support tickets opened in the last 30 days.",
        "numeric",
        "count",
        "tickets",
        "30d",
        "{value:.0f} tickets opened in the last 30 days",
        1.0,
    ),
    FeatureSpec(
        "tickets_open",
        "Support tickets open at the as-of date.",
        "numeric",
        "count",
        "tickets",
        None,
        "{value:.0f} support tickets open",
        0.0,
    ),
    FeatureSpec(
        "tickets_open_over_5d",
        "Support tickets open at the as-of date for more than 5 days.",
        "numeric",
        "count",
        "tickets",
        None,
        "{value:.0f} support tickets open for more than 5 days",
        0.0,
    ),
    FeatureSpec(
        "failed_payments_90d",
        "Failed invoices in the last 90 days.",
        "numeric",
        "count",
        "invoices",
        "90d",
        "{value:.0f} failed payments in the last 90 days",
        0.0,
    ),
    FeatureSpec(
        "last_nps",
        "Most recent NPS score (0-10); empty when never answered.",
        "numeric",
        "score",
        "nps_responses",
        None,
        "last NPS score {value:.0f}",
        8.0,
        maximum=10.0,
        nullable=True,
    ),
    FeatureSpec(
        "plan",
        "Plan at the as-of date.",
        "categorical",
        "",
        "subscription_events",
        None,
        "on the {value} plan",
        "pro",
    ),
    FeatureSpec(
        "billing_cycle",
        "Billing cycle.",
        "categorical",
        "",
        "accounts",
        None,
        "billed {value}",
        "monthly",
    ),
    FeatureSpec(
        "industry",
        "Industry of the customer.",
        "categorical",
        "",
        "accounts",
        None,
        "industry {value}",
        "software",
    ),
    FeatureSpec(
        "acquisition_channel",
        "How the account was acquired.",
        "categorical",
        "",
        "accounts",
        None,
        "acquired via {value}",
        "organic",
    ),
    FeatureSpec(
        "country",
        "Country of the customer (ISO 3166-1 alpha-2).",
        "categorical",
        "",
        "accounts",
        None,
        "based in {value}",
        "US",
    ),
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
