"""The driver registry: every feature names a driver, every driver has features."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from churn_pipeline.features import FEATURES, FEATURES_BY_NAME
from churn_pipeline.features.specs import (
    DEFAULT_CONTEXT_DRIVERS,
    DRIVERS,
    DRIVERS_BY_NAME,
    KEY_FEATURES,
    Driver,
    driver_features,
    driver_of,
)

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.name)
def test_every_driver_has_features_and_its_primary_among_them(driver):
    features = driver_features(driver.name)

    assert features
    assert driver.primary in features
    assert driver.label


@pytest.mark.parametrize(
    ("driver", "some_features", "theme"),
    [
        (
            "logins",
            {"logins_7d", "logins_trend_30d", "logins_per_seat_30d"},
            "usage",
        ),
        ("logins", {"days_since_last_login"}, "usage"),
        ("activity", {"active_days_90d", "active_users_per_seat_30d"}, "usage"),
        ("key_features", {"key_feature_uses_7d", "distinct_key_features_30d"}, "usage"),
        ("integrations", {"uses_integrations_7d", "uses_integrations_90d"}, "usage"),
        ("onboarding", {"onboarding_features_30d"}, "onboarding"),
        ("tenure", {"tenure_days", "tenure_months", "in_first_90_days"}, "onboarding"),
        ("support_tickets", {"tickets_7d", "mean_satisfaction_90d"}, "support"),
        ("payments", {"payment_retries_90d", "days_since_failed_payment"}, "payment"),
        ("nps", {"last_nps", "nps_change", "nps_detractor"}, "sentiment"),
        (
            "plan_and_price",
            {"plan", "billing_cycle", "mrr", "discount_pct", "days_since_plan_change"},
            "price_value",
        ),
        ("country", {"country"}, "profile"),
    ],
)
def test_features_are_grouped_into_named_drivers(driver, some_features, theme):
    assert some_features <= set(driver_features(driver))
    assert DRIVERS_BY_NAME[driver].theme == theme
    assert {driver_of(f) for f in some_features} == {DRIVERS_BY_NAME[driver]}


def test_each_key_feature_is_a_driver_of_its_own():
    for feature in KEY_FEATURES:
        assert set(driver_features(feature)) == {
            f.name for f in FEATURES if f.name.startswith(f"uses_{feature}_")
        }


def test_an_unregistered_driver_is_refused_and_the_allowed_named():
    with pytest.raises(
        ValueError, match=r"driver must be one of \[.*'logins'.*'pricing'"
    ):
        dataclasses.replace(FEATURES_BY_NAME["logins_30d"], driver="pricing")


def test_a_driver_with_an_unknown_theme_is_refused():
    with pytest.raises(ValueError, match=r"'pricing'.*theme must be one of \[.*usage"):
        Driver("pricing", "Pricing", "money", "mrr")


def test_a_column_outside_the_registry_is_a_profile_driver_of_its_own():
    driver = driver_of("Contract")

    assert (driver.name, driver.label, driver.theme, driver.primary) == (
        "Contract",
        "Contract",
        "profile",
        "Contract",
    )


def test_the_default_context_is_who_the_customer_is():
    assert {DRIVERS_BY_NAME[name].theme for name in DEFAULT_CONTEXT_DRIVERS} == {
        "profile"
    }
    scoring = yaml.safe_load((CONF / "base/parameters_scoring.yml").read_text())
    assert scoring["scoring"]["context_drivers"] == list(DEFAULT_CONTEXT_DRIVERS)


def test_the_telco_context_names_telco_columns():
    scoring = yaml.safe_load((CONF / "telco/parameters_scoring.yml").read_text())
    table = yaml.safe_load((CONF / "telco/parameters_customer_table.yml").read_text())
    columns = table["customer_table"]
    known = {*columns["numeric_columns"], *columns["categorical_columns"]}

    assert set(scoring["scoring"]["context_drivers"]) <= known
