"""Which registry features a dataset can provide."""

from __future__ import annotations

import pytest

from churn_pipeline.features import FEATURES, available_features, feature_names
from churn_pipeline.features.specs import KEY_FEATURES, USAGE_WINDOWS


def _names(**kwargs) -> set[str]:
    return {f.name for f in available_features(**kwargs)}


def test_everything_is_available_by_default():
    assert _names() == set(feature_names())


def test_features_of_an_absent_table_are_left_out():
    names = _names(absent_tables=["nps_responses"])
    assert "last_nps" not in names
    assert names == {f.name for f in FEATURES if f.source != "nps_responses"}


KEY_COLUMNS = [f"uses_{feature}" for feature in KEY_FEATURES]
PER_KEY_FEATURE = {
    f"uses_{feature}_{days}d" for feature in KEY_FEATURES for days in USAGE_WINDOWS
}
FROM_LOGINS = {
    *(f"logins_{days}d" for days in USAGE_WINDOWS),
    "logins_trend_30d",
    "logins_per_seat_30d",
}


@pytest.mark.parametrize(
    ("usage_columns", "left_out"),
    [
        (["logins", "active_users", *KEY_COLUMNS], set()),
        (["logins", *KEY_COLUMNS], {"active_users_per_seat_30d"}),
        (["active_users"], FROM_LOGINS | PER_KEY_FEATURE),
    ],
)
def test_features_needing_a_missing_column_are_left_out(usage_columns, left_out):
    columns = {"usage": ["account_id", "usage_date", *usage_columns]}
    assert set(feature_names()) - _names(columns=columns) == left_out


def test_every_required_column_belongs_to_the_source_table():
    for feature in FEATURES:
        if feature.requires:
            assert feature.source == "usage", feature.name
