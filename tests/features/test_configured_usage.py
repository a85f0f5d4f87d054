"""Configured usage columns get features of their own, equal to a pandas oracle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests.features import pandas_reference, strategies
from tests.features.both_ways import engine_and_reference
from tests.features.pandas_reference_configured import CONTRACT_COLUMNS

from churn_pipeline.demo_data import DemoDataConfig, generate_demo_data
from churn_pipeline.features.consistency import rules_for, violations
from churn_pipeline.features.specs import USAGE_WINDOWS, configured_usage_specs

# Two columns of their own; ``exports`` also counts as a key feature.
CONFIGURED = ("exports", "feature_errors")
KEY_COLUMNS = ["uses_reports", "exports"]


def _with_columns(
    tables: Mapping[str, pd.DataFrame], values: Mapping[str, Sequence[int]]
) -> dict[str, pd.DataFrame]:
    usage = tables["usage"].assign(**{c: list(v) for c, v in values.items()})
    return {**tables, "usage": usage}


def _both_ways(
    tables: Mapping[str, pd.DataFrame],
    dates: Sequence[pd.Timestamp] | None = None,
    *,
    min_history_days: int = 60,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return engine_and_reference(
        tables,
        KEY_COLUMNS,
        dates=dates,
        min_history_days=min_history_days,
        max_snapshots=6,
        threads=1,
    )


@pytest.fixture(scope="module")
def demo_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    config = DemoDataConfig(
        n_accounts=120, start_date="2024-01-01", end_date="2024-09-30", seed=11
    )
    tables = generate_demo_data(config)
    rng = np.random.default_rng(3)
    n = len(tables["usage"])
    # Sparse: most days zero, so recency and empty windows are exercised.
    values = {c: rng.poisson(0.4, n) * rng.integers(0, 2, n) for c in CONFIGURED}
    return _both_ways(_with_columns(tables, values))


def test_configured_columns_add_their_features_after_the_usage_ones(demo_frames):
    expected, _ = demo_frames
    names = [s.name for s in configured_usage_specs(CONFIGURED)]
    columns = list(expected.columns)
    start = columns.index("onboarding_features_90d") + 1
    assert columns[start : start + len(names)] == names
    assert columns[start + len(names)] == "tickets_7d"


def test_configured_features_equal_the_pandas_reference(demo_frames):
    expected, actual = demo_frames
    assert len(expected) > 300
    # Both the positive and the empty cases occur.
    assert (expected["exports_7d"] == 0).any() and (expected["exports_7d"] > 0).any()
    assert expected["days_since_feature_errors"].max() > 30
    assert pandas_reference.frame_differences(expected, actual) == []


def test_a_configured_key_feature_still_enters_the_summed_counts(demo_frames):
    expected, _ = demo_frames
    for days in USAGE_WINDOWS:
        summed = expected[f"key_feature_uses_{days}d"]
        parts = expected[f"uses_reports_{days}d"] + expected[f"exports_{days}d"]
        assert np.allclose(summed, parts), days


def test_trend_and_per_seat_follow_the_30_day_sum(demo_frames):
    expected, _ = demo_frames
    for c in CONFIGURED:
        assert np.allclose(
            expected[f"{c}_per_seat_30d"] * expected["seats"], expected[f"{c}_30d"]
        )
        assert (expected[f"{c}_trend_30d"] >= -1.0).all()
        dropped = expected[f"{c}_30d"] == 0
        assert (expected.loc[dropped, f"{c}_trend_30d"] <= 0).all()


@st.composite
def _worlds_with_columns(draw: st.DrawFn) -> dict[str, pd.DataFrame]:
    world = draw(strategies.worlds())
    n = len(world["usage"])
    counts = st.lists(st.sampled_from([0, 0, 1, 3]), min_size=n, max_size=n)
    return _with_columns(world, {c: draw(counts) for c in CONFIGURED})


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=_worlds_with_columns(), day=st.integers(60, strategies.LAST_DAY))
def test_generated_worlds_give_the_reference_values(tables, day):
    dates = [strategies.day_start(d) for d in (day - 31, day)]
    expected, actual = _both_ways(tables, dates, min_history_days=0)
    assume(len(expected) > 0)
    assert pandas_reference.frame_differences(expected, actual) == []


def test_the_demo_usage_columns_add_nothing():
    assert configured_usage_specs(list(CONTRACT_COLUMNS)) == ()


def test_the_consistency_rules_of_configured_columns_hold(demo_frames):
    expected, _ = demo_frames
    rules = rules_for(expected.columns)
    own = [r for r in rules if any(c in r.describe() for c in CONFIGURED)]
    # Three window pairs, four recency rules and one age rule per column.
    assert len(own) == len(CONFIGURED) * 8
    broken = [
        problem
        for row in expected.to_dict(orient="records")
        for problem in violations(row, own)
    ]
    assert broken == []


@pytest.mark.parametrize(
    ("changes", "broken"),
    [
        (
            {"exports_7d": 9.0},
            "exports_7d (9) must not exceed exports_14d (5)",
        ),
        (
            {"days_since_exports": 40.0},
            "days_since_exports (40) must be below 30 when exports_30d (8) is above 0",
        ),
        (
            {"days_since_exports": 500.0},
            "days_since_exports (500) must not exceed tenure_days (400)",
        ),
    ],
)
def test_each_kind_of_configured_rule_can_break(changes, broken):
    names = [s.name for s in configured_usage_specs(["exports"])]
    values = {
        "tenure_days": 400.0,
        "exports_7d": 2.0,
        "exports_14d": 5.0,
        "exports_30d": 8.0,
        "exports_90d": 20.0,
        "exports_trend_30d": 0.1,
        "days_since_exports": 1.0,
        "exports_per_seat_30d": 0.8,
    }
    rules = rules_for(["tenure_days", *names])
    assert violations(values, rules) == []
    assert broken in violations({**values, **changes}, rules)
