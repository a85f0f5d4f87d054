"""Features named from the configured usage columns: names, drivers, lookups."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from churn_pipeline.features import FEATURES, available_features, feature_names
from churn_pipeline.features.specs import (
    USAGE_WINDOWS,
    configured_usage_columns,
    configured_usage_specs,
    driver_of,
    feature_specs,
    spec_of,
    usage_columns_of,
)
from churn_pipeline.scoring.reasons import fill_template

CONF = Path(__file__).resolve().parents[2] / "conf"


def _ravenstack_columns() -> list[str]:
    validation = yaml.safe_load(
        (CONF / "ravenstack/parameters_data_validation.yml").read_text()
    )["data_validation"]
    features = yaml.safe_load(
        (CONF / "ravenstack/parameters_feature_engineering.yml").read_text()
    )["feature_engineering"]
    assert set(features["key_feature_columns"]) <= set(validation["usage_columns"])
    return validation["usage_columns"]


RAVENSTACK = configured_usage_specs(_ravenstack_columns())


def test_ravenstack_columns_get_seven_features_each_named_from_the_column():
    columns = ["feature_uses", "features_used", "feature_seconds", "feature_errors"]
    assert configured_usage_columns(_ravenstack_columns()) == tuple(columns)
    expected = [
        name
        for c in columns
        for name in (
            *(f"{c}_{d}d" for d in USAGE_WINDOWS),
            f"{c}_trend_30d",
            f"days_since_{c}",
            f"{c}_per_seat_30d",
        )
    ]
    assert [s.name for s in RAVENSTACK] == expected
    assert not {s.name for s in RAVENSTACK} & {f.name for f in FEATURES}


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["tickets"], r"'tickets'.*'tickets_7d' is a registry feature"),
        (["active_days"], r"'active_days'.*'active_days_30d' is a registry feature"),
        (["onboarding"], r"'onboarding'.*registry driver 'onboarding'"),
        (["exports", "exports_trend"], r"'exports_trend_30d' is also a feature of"),
        (["exports_trend"], r"'exports_trend_30d' reads back as column 'exports'"),
        (["exports per day"], r"\['exports per day'\] must be identifiers"),
    ],
)
def test_a_column_whose_feature_names_would_clash_is_refused(columns, message):
    with pytest.raises(ValueError, match=message) as error:
        configured_usage_specs(columns)
    assert "data_validation.mappings.usage.columns" in str(error.value)


@pytest.mark.parametrize("spec", RAVENSTACK, ids=lambda s: s.name)
def test_each_configured_feature_is_found_from_its_name_alone(spec):
    assert spec_of(spec.name) == spec
    driver = driver_of(spec.name)
    column = spec.requires[0]
    assert (driver.name, driver.theme, driver.primary) == (
        column,
        "usage",
        f"{column}_30d",
    )
    assert driver.label == column.replace("_", " ").capitalize()


@pytest.mark.parametrize(
    "name", ["Contract", "TotalCharges", "logins_30d", "uses_reports_7d"]
)
def test_registry_and_customer_columns_are_not_read_as_configured(name):
    spec = spec_of(name)
    assert spec is None or spec.driver in {"logins", "reports"}
    assert usage_columns_of([name]) == ()


def test_the_demo_set_is_unchanged_and_configured_ones_follow_the_usage_group():
    assert feature_names() == [f.name for f in FEATURES]
    names = [s.name for s in feature_specs(_ravenstack_columns())]
    usage_end = names.index("onboarding_features_90d") + 1
    assert names[usage_end : usage_end + len(RAVENSTACK)] == [
        s.name for s in RAVENSTACK
    ]
    assert len(names) == len(FEATURES) + 28


def test_available_features_follow_the_usage_table_columns():
    usage = ["account_id", "usage_date", *_ravenstack_columns()]
    names = {f.name for f in available_features(columns={"usage": usage})}
    assert {s.name for s in RAVENSTACK} <= names
    assert "active_users_per_seat_30d" not in names
    absent = available_features(["usage"], columns={"usage": usage})
    assert not {s.name for s in RAVENSTACK} & {f.name for f in absent}


def test_a_configured_feature_must_name_its_own_column_as_driver():
    spec = spec_of("feature_errors_30d")
    with pytest.raises(ValueError, match="or the usage column it requires"):
        dataclasses.replace(spec, driver="feature_uses")


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("feature_errors_30d", 3.0, "feature errors: 3 in the last 30 days"),
        ("days_since_feature_uses", 1.0, "no feature uses for 1 day"),
        ("days_since_feature_uses", 12.0, "no feature uses for 12 days"),
        ("feature_seconds_trend_30d", -0.62, "feature seconds down 62 %"),
        ("features_used_per_seat_30d", 2.25, "2.2 features used per paid seat"),
    ],
)
def test_reason_texts_read_as_sentences(name, value, text):
    assert text in fill_template(spec_of(name).reason, value)


def test_zero_values_have_their_own_reason():
    assert spec_of("feature_errors_7d").zero_reason == (
        "no feature errors in the last 7 days"
    )
    assert spec_of("days_since_feature_uses").zero_reason == (
        "feature uses on the day scored"
    )
