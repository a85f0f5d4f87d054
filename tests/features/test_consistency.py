"""The consistency rules hold on every feature row the feature code builds.

A rule that does not hold by construction fails here: on a generated demo
business at twelve as-of dates, and on small random contract-valid worlds whose
records fall most often on the window edges (``tests.features.strategies``).
Each rule must also be breakable: one changed vector per rule breaks it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import ibis
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.features import strategies
from tests.features.test_leakage_features import MULTI, features

from churn_pipeline.demo_data import DemoDataConfig, generate_demo_data
from churn_pipeline.features import engine
from churn_pipeline.features.build import TABLES, placed_model_input
from churn_pipeline.features.consistency import (
    RULES,
    Rule,
    rules_for,
    violations,
    window_pairs,
)
from churn_pipeline.features.pit import KEYS
from churn_pipeline.features.specs import FEATURES, KEY_FEATURES

KEY_COLUMNS = [f"uses_{f}" for f in KEY_FEATURES]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts, NaN as ``None`` (unknown), as a request carries them."""
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
        for r in frame.to_dict(orient="records")
    ]


def _broken(frame: pd.DataFrame) -> list[str]:
    return [
        f"{row['account_id']} at {row['as_of_date']}: {problem}"
        for row in _records(frame)
        for problem in violations(row)
    ]


@pytest.fixture(scope="module")
def demo_rows() -> pd.DataFrame:
    raw = generate_demo_data(
        DemoDataConfig(
            n_accounts=400, start_date="2024-01-01", end_date="2024-12-31", seed=7
        )
    )
    tables = {name: ibis.memtable(raw[name]) for name in TABLES}
    con = engine.connect("duckdb", {"threads": 1})
    expr = placed_model_input(
        con,
        tables,
        horizon_days=30,
        key_columns=KEY_COLUMNS,
        min_history_days=60,
        max_snapshots=12,
    )
    return engine.execute(con, expr, KEYS)


def test_every_rule_holds_on_every_row_of_a_demo_business(demo_rows):
    assert len(demo_rows) > 2000 and demo_rows["as_of_date"].nunique() >= 10

    broken = _broken(demo_rows)

    assert not broken, "\n".join(broken[:30])


def test_every_rule_is_checked_on_some_demo_row(demo_rows):
    """No rule passes only because one of its features is never known."""
    never = [
        rule.describe()
        for rule in RULES
        if not demo_rows[list(rule.fields)].notna().all(axis=1).any()
    ]

    assert not never


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_rule_holds_on_random_worlds_at_the_window_edges(data) -> None:
    as_of = data.draw(st.sampled_from(list(MULTI.values())), label="as_of")
    world = data.draw(strategies.worlds(as_of.hot_days()), label="world")

    broken = _broken(features(world, as_of))

    assert not broken, "\n".join(broken)


# ------------------------------------------------------- each rule can break
# A vector that keeps every rule: two accounts' worth of typical values.
CONSISTENT: dict[str, Any] = {
    "tenure_days": 400.0,
    "tenure_months": 13.0,
    "in_first_90_days": 0.0,
    "days_since_plan_change": 100.0,
    "days_since_last_login": 1.0,
    "active_days_30d": 20.0,
    "active_days_90d": 60.0,
    "key_feature_uses_30d": 50.0,
    "distinct_key_features_30d": 3.0,
    "onboarding_features_30d": 2.0,
    "onboarding_features_90d": 3.0,
    "tickets_7d": 1.0,
    "tickets_10d": 2.0,
    "tickets_30d": 3.0,
    "tickets_90d": 4.0,
    "ticket_burst_7d": 0.0,
    "tickets_open": 1.0,
    "tickets_open_over_5d": 1.0,
    "oldest_open_ticket_days": 8.0,
    "high_priority_share_90d": 0.25,
    "failed_payments_30d": 0.0,
    "failed_payments_90d": 1.0,
    "days_since_failed_payment": 45.0,
    "last_nps": 6.0,
    "nps_change": -2.0,
    "nps_detractor": 1.0,
    "days_since_nps": 20.0,
}
for _stem in ("logins", "key_feature_uses", *(f"uses_{f}" for f in KEY_FEATURES)):
    for _days, _count in zip((7, 14, 30, 90), (5.0, 10.0, 50.0, 150.0), strict=True):
        CONSISTENT[f"{_stem}_{_days}d"] = _count

Change = Callable[[Mapping[str, Any]], dict[str, Any]]
# Rules that are not "a must not exceed b" or "a flag is 0 or 1": how to break them.
_BREAKS: dict[str, Change] = {
    "tenure_months must be tenure_days / 30.4375 rounded down": lambda v: {
        "tenure_months": v["tenure_months"] + 1
    },
    "in_first_90_days must be 1 exactly when tenure_days is below 90": lambda v: {
        "in_first_90_days": 1.0
    },
    "days_since_last_login must be below 30 when active_days_30d is at least 1": (
        lambda v: {"days_since_last_login": 30.0}
    ),
    "days_since_last_login must be below 90 when active_days_90d is at least 1": (
        lambda v: {"days_since_last_login": 90.0, "active_days_30d": 0.0}
    ),
    "distinct_key_features_30d must be 0 exactly when key_feature_uses_30d is 0": (
        lambda v: {"distinct_key_features_30d": 0.0}
    ),
    "tickets_open_over_5d must be at least 1 exactly when oldest_open_ticket_days "
    "is at least 5": lambda v: {"oldest_open_ticket_days": 4.0},
    "oldest_open_ticket_days must be 0 when tickets_open is 0": lambda v: {
        "tickets_open": 0.0,
        "tickets_open_over_5d": 0.0,
    },
    "ticket_burst_7d must be 1 exactly when tickets_7d is at least 3": lambda v: {
        "tickets_7d": 3.0
    },
    "high_priority_share_90d must be 0 when tickets_90d is 0": lambda v: {
        "tickets_90d": 0.0
    },
    "failed_payments_30d must be at least 1 exactly when days_since_failed_payment "
    "is below 30": lambda v: {"days_since_failed_payment": 29.0},
    "failed_payments_90d must be at least 1 exactly when days_since_failed_payment "
    "is below 90": lambda v: {"days_since_failed_payment": 90.0},
    "nps_detractor must be 1 exactly when last_nps is below 7": lambda v: {
        "last_nps": 7.0
    },
    "days_since_nps must be null exactly when last_nps is null": lambda v: {
        "days_since_nps": None
    },
    "nps_change must be null when last_nps is null": lambda v: {
        "last_nps": None,
        "nps_detractor": 0.0,
        "days_since_nps": None,
    },
    "nps_change must be between last_nps - 10 and the last score": lambda v: {
        "nps_change": v["last_nps"] + 1
    },
}


def breaking_change(rule: Rule, values: Mapping[str, Any]) -> dict[str, Any]:
    """Changes to ``values`` (which keep ``rule``) that break ``rule``."""
    if rule.describe() in _BREAKS:
        return _BREAKS[rule.describe()](values)
    first, *rest = rule.fields
    if rule.describe() == f"{first} must be 0 or 1":
        return {first: 0.5}
    [high] = rest
    assert rule.describe() == f"{first} must not exceed {high}", rule.describe()
    # Lower the larger one where possible: raising the smaller may cross its
    # bound (active_days_30d <= 30).
    if values[first] >= 1:
        return {high: values[first] - 1}
    return {first: values[high] + 1}


def test_the_consistent_vector_keeps_every_rule():
    assert set(CONSISTENT) == {name for rule in RULES for name in rule.fields}
    assert violations(CONSISTENT) == []


@pytest.mark.parametrize("rule", RULES, ids=Rule.describe)
def test_each_rule_is_broken_by_a_vector_breaking_it(rule):
    broken = {**CONSISTENT, **breaking_change(rule, CONSISTENT)}

    problem = rule.violation(broken)

    assert problem is not None
    assert problem in violations(broken)
    for name in rule.fields:
        assert f"{name} (" in problem


def test_a_violation_names_the_fields_and_their_values():
    rule = next(r for r in RULES if r.fields == ("logins_14d", "logins_30d"))

    assert (
        rule.violation({"logins_14d": 40.0, "logins_30d": 6.0})
        == "logins_14d (40) must not exceed logins_30d (6)"
    )
    assert rule.violation({"logins_14d": None, "logins_30d": 6.0}) is None


def test_window_pairs_follow_the_registry():
    pairs = window_pairs()

    assert ("logins_14d", "logins_30d") in pairs
    assert ("tickets_7d", "tickets_10d") in pairs
    assert ("failed_payments_30d", "failed_payments_90d") in pairs
    assert ("uses_reports_30d", "uses_reports_90d") in pairs
    # Trends, ratios and shares are windowed but not counts that add up.
    names = {name for pair in pairs for name in pair}
    assert not names & {"logins_trend_30d", "high_priority_share_90d"}
    assert names <= {spec.name for spec in FEATURES}


def test_rules_over_absent_features_are_skipped():
    without_nps = [s.name for s in FEATURES if s.source != "nps_responses"]

    kept = rules_for(without_nps)

    assert kept and all("last_nps" not in rule.fields for rule in kept)
    assert len(kept) < len(RULES)
    assert violations({"logins_14d": 40.0}) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.describe())
@pytest.mark.parametrize("known", [0, 1], ids=["all unknown", "one known"])
def test_a_rule_judges_unknown_values_without_failing(rule, known) -> None:
    # A request may send null for any feature (the service fills the rest from
    # the store): a rule must answer, never raise, whatever is unknown.
    for index in range(len(rule.fields)):
        values = {name: None for name in rule.fields}
        if known:
            values[rule.fields[index]] = 1
        assert isinstance(violations(values, [rule]), list)
