"""Monotone constraints: pattern resolution, the shipped priors, the guarantee."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable

import numpy as np
import pytest
from scipy.special import expit
from tests.models import synthetic

from churn_pipeline.features import NUMERIC_FEATURES
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.models.blend import fit_blend
from churn_pipeline.models.monotone import (
    applicable_constraints,
    monotone_violations,
    resolve_constraints,
)

FEATURES = ["logins_7d", "logins_30d", "logins_trend_30d", "tickets_open", "mrr"]


# ---------------------------------------------------------------- resolution
def test_patterns_resolve_to_features_in_feature_order() -> None:
    resolved = resolve_constraints({"tickets_open": 1, "logins_*": -1}, FEATURES)

    assert resolved == {
        "logins_7d": -1,
        "logins_30d": -1,
        "logins_trend_30d": -1,
        "tickets_open": 1,
    }
    assert list(resolved) == FEATURES[:4]


def test_an_explicit_zero_is_kept_as_free() -> None:
    assert resolve_constraints({"mrr": 0}, FEATURES) == {"mrr": 0}


@pytest.mark.parametrize("patterns", [None, {}])
def test_no_constraints_resolve_to_none(patterns: dict | None) -> None:
    assert resolve_constraints(patterns, FEATURES) == {}


def test_two_patterns_with_different_signs_name_both() -> None:
    patterns = {"logins_*": -1, "*_30d": 1}

    with pytest.raises(ValueError, match="two signs") as error:
        resolve_constraints(patterns, FEATURES)

    message = str(error.value)
    assert "'logins_30d'" in message
    assert "'logins_*': -1" in message
    assert "'*_30d': 1" in message


def test_two_patterns_with_the_same_sign_agree() -> None:
    resolved = resolve_constraints({"logins_*": -1, "*_30d": -1}, FEATURES)

    assert resolved["logins_30d"] == -1


@pytest.mark.parametrize("pattern", ["login_*", "LOGINS_*", "logins_1d"])
def test_a_pattern_matching_nothing_is_named_with_the_features(pattern: str) -> None:
    with pytest.raises(ValueError, match="match no numeric feature") as error:
        resolve_constraints({pattern: -1, "mrr": 0}, FEATURES)

    message = str(error.value)
    assert repr(pattern) in message
    assert "'mrr'" not in message.split("allowed", maxsplit=1)[0]
    assert all(repr(name) in message for name in FEATURES)


@pytest.mark.parametrize("value", [2, -2, 0.5, "up", True])
def test_a_sign_other_than_minus_one_zero_one_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="must be -1, 0 or 1"):
        resolve_constraints({"logins_*": value}, FEATURES)


def test_the_pipeline_skips_patterns_a_dataset_lacks_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    patterns = {"logins_*": -1, "failed_payments_*": 1, "tickets_open": 1}

    with caplog.at_level(logging.INFO, logger="churn_pipeline.models.monotone"):
        kept = applicable_constraints(patterns, FEATURES)

    assert kept == {"logins_*": -1, "tickets_open": 1}
    assert "failed_payments_*" in caplog.text


def test_a_dataset_with_none_of_the_signals_gets_no_constraints() -> None:
    # The Telco customer table: its own columns, none of the registry's.
    kept = applicable_constraints(synthetic.MONOTONE_CONSTRAINTS, ["months", "fee"])

    assert kept == {}


# ----------------------------------------------------------- shipped priors
def test_every_shipped_pattern_matches_a_registry_feature() -> None:
    """A typo in the configuration would silently free a whole signal."""
    for pattern in synthetic.MONOTONE_CONSTRAINTS:
        assert resolve_constraints({pattern: 1}, NUMERIC_FEATURES), pattern


@pytest.mark.parametrize(
    ("prefix", "sign"),
    [
        ("logins_", -1),
        ("active_", -1),
        ("key_feature_", -1),
        ("uses_", -1),
        ("onboarding_features_", -1),
        ("failed_payments_", 1),
        ("tickets_", 1),
    ],
)
def test_every_window_and_ratio_of_a_signal_is_constrained(
    prefix: str, sign: int
) -> None:
    resolved = resolve_constraints(synthetic.MONOTONE_CONSTRAINTS, NUMERIC_FEATURES)
    family = [name for name in NUMERIC_FEATURES if name.startswith(prefix)]

    assert len(family) >= 2
    assert {name: resolved.get(name) for name in family} == dict.fromkeys(family, sign)


@pytest.mark.parametrize(
    ("feature", "sign"),
    [
        ("distinct_key_features_30d", -1),
        ("days_since_last_login", 1),
        ("payment_retries_90d", 1),
        ("days_since_failed_payment", -1),
        ("oldest_open_ticket_days", 1),
        ("ticket_burst_7d", 1),
        ("last_nps", -1),
    ],
)
def test_single_signals_carry_their_sign(feature: str, sign: int) -> None:
    resolved = resolve_constraints(synthetic.MONOTONE_CONSTRAINTS, NUMERIC_FEATURES)

    assert resolved[feature] == sign


@pytest.mark.parametrize("feature", ["tenure_days", "mrr", "seats", "nps_change"])
def test_business_dependent_features_stay_free(feature: str) -> None:
    resolved = resolve_constraints(synthetic.MONOTONE_CONSTRAINTS, NUMERIC_FEATURES)

    assert not resolved.get(feature)


# -------------------------------------------------------------- guarantee
def test_the_fitted_model_keeps_the_guarantee(fitted_model: ChurnEnsemble) -> None:
    assert monotone_violations(fitted_model) == []
    assert fitted_model.monotone_constraints_ == resolve_constraints(
        synthetic.MONOTONE_CONSTRAINTS, NUMERIC_FEATURES
    )


def _negative_weight(model: ChurnEnsemble) -> None:
    model.weights_["lightgbm"] = -0.1


def _decreasing_calibration(model: ChurnEnsemble) -> None:
    model.calibration_slope_ = -0.5


def _decreasing_member_calibration(model: ChurnEnsemble) -> None:
    model.member_calibration_["xgboost"] = (-1.0, 0.0)


def _linear_sign_flipped(model: ChurnEnsemble) -> None:
    member = model.members_["logistic_regression"]
    columns = list(member.named_steps["preprocess"].get_feature_names_out())
    member.named_steps["model"].coef_[0, columns.index("logins_30d")] = 0.3


def _tree_unconstrained(model: ChurnEnsemble) -> None:
    model.members_["lightgbm"].named_steps["model"].set_params(
        monotone_constraints=None
    )


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_negative_weight, "negative blend weights"),
        (_decreasing_calibration, "decreasing calibration"),
        (_decreasing_member_calibration, "decreasing calibration"),
        (_linear_sign_flipped, "logins_30d"),
        (_tree_unconstrained, "lightgbm: tree constraints differ"),
    ],
)
def test_each_broken_link_of_the_guarantee_is_reported(
    fitted_model: ChurnEnsemble,
    tamper: Callable[[ChurnEnsemble], None],
    message: str,
) -> None:
    model = copy.deepcopy(fitted_model)
    tamper(model)

    problems = monotone_violations(model)

    assert len(problems) == 1
    assert message in problems[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_member_ranking_backwards_gets_weight_zero_not_negative(seed: int) -> None:
    """Free stacking would give it a negative weight and reverse its directions."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=4000)
    y = (rng.random(4000) < expit(-2.0 + truth)).astype(int)
    logits = {
        "good": truth + rng.normal(0, 0.5, 4000),
        "backwards": -truth + rng.normal(0, 0.5, 4000),
    }

    weights, slope, _ = fit_blend(logits, y)

    assert weights["backwards"] == 0.0
    assert weights["good"] == 1.0
    assert slope > 0.0


def test_a_blend_of_no_signal_is_flat_not_decreasing() -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(2000) < 0.1).astype(int)
    logits = {"a": -(y + rng.normal(0, 0.1, 2000)), "b": -(y + rng.normal(size=2000))}

    weights, slope, _ = fit_blend(logits, y)

    assert slope == 0.0
    assert min(weights.values()) >= 0.0
