"""Specs of the usage features: logins, activity, key features, onboarding."""

from __future__ import annotations

from churn_pipeline.features.specs.base import (
    KEY_FEATURES,
    USAGE_WINDOWS,
    numeric,
    windowed,
)

USAGE = (
    *windowed(
        "logins",
        "Logins",
        "{value:.0f} logins in the last {days} days",
        USAGE_WINDOWS,
        (20.0, 40.0, 85.0, 250.0),
        "usage",
        requires=("logins",),
        driver="usage",
    ),
    numeric(
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
    numeric(
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
    numeric(
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
    numeric(
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
    numeric(
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
    numeric(
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
    *windowed(
        "key_feature_uses",
        "Uses of the key features (feature_engineering.key_feature_columns)",
        "{value:.0f} key-feature uses in the last {days} days",
        USAGE_WINDOWS,
        (30.0, 65.0, 140.0, 420.0),
        "usage",
        driver="usage",
    ),
    numeric(
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
    numeric(
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
        for spec in windowed(
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
    numeric(
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
    numeric(
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
