"""Which registry features a dataset can provide."""

from __future__ import annotations

import pytest

from churn_pipeline.features import FEATURES, available_features, feature_names


def _names(**kwargs) -> set[str]:
    return {f.name for f in available_features(**kwargs)}


def test_everything_is_available_by_default():
    assert _names() == set(feature_names())


def test_features_of_an_absent_table_are_left_out():
    names = _names(absent_tables=["nps_responses"])
    assert "last_nps" not in names
    assert names == {f.name for f in FEATURES if f.source != "nps_responses"}


@pytest.mark.parametrize(
    ("usage_columns", "left_out"),
    [
        (["logins", "active_users"], set()),
        (["logins"], {"active_users_per_seat_30d"}),
        ([], {"active_users_per_seat_30d", "logins_30d", "logins_trend_30d"}),
    ],
)
def test_features_needing_a_missing_column_are_left_out(usage_columns, left_out):
    columns = {"usage": ["account_id", "usage_date", *usage_columns]}
    assert set(feature_names()) - _names(columns=columns) == left_out


def test_every_required_column_belongs_to_the_source_table():
    for feature in FEATURES:
        if feature.requires:
            assert feature.source == "usage", feature.name
