"""Tests for the ranking, profit and calibration metrics and the contact policy.

empulse is the oracle for EMPC, MPC and lift.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from empulse.metrics import empc_score as ref_empc
from empulse.metrics import lift_score as ref_lift
from empulse.metrics import mpc_score as ref_mpc
from scipy import integrate, stats

from churn_pipeline.evaluation.calibration import expected_calibration_error
from churn_pipeline.evaluation.economics import RetentionEconomics
from churn_pipeline.evaluation.profit import (
    campaign_profit,
    empc,
    mpc,
    profit_curve,
)
from churn_pipeline.evaluation.ranking import (
    cumulative_gains,
    lift_score,
    roc_convex_hull,
    roc_points,
)
from churn_pipeline.scoring.policy import (
    cost_sensitive_threshold,
    expected_contact_profit,
)

TOL = 1e-9

Y_REF = [0, 1, 1, 0, 1, 0, 0, 1, 0, 0]
S_REF = [0.1, 0.8, 0.6, 0.3, 0.9, 0.2, 0.4, 0.35, 0.05, 0.5]

# (clv, incentive_cost, contact_cost, alpha, beta, accept_rate)
PARAMS = [
    (200.0, 10.0, 1.0, 6.0, 14.0, 0.3),
    (500.0, 50.0, 5.0, 2.0, 8.0, 0.1),
    (100.0, 0.0, 0.0, 1.0, 1.0, 1.0),
    (1000.0, 100.0, 20.0, 10.0, 2.0, 0.9),
    (50.0, 49.0, 0.5, 0.5, 0.5, 0.05),
    (300.0, 5.0, 30.0, 3.0, 3.0, 0.5),
]


def _empc_kw(p: tuple[float, ...]) -> dict[str, float]:
    clv, d, f, a, b, _ = p
    return {"clv": clv, "incentive_cost": d, "contact_cost": f, "alpha": a, "beta": b}


def _mpc_kw(p: tuple[float, ...]) -> dict[str, float]:
    clv, d, f, _, _, g = p
    return {"clv": clv, "incentive_cost": d, "contact_cost": f, "accept_rate": g}


def _economics(p: tuple[float, ...]) -> RetentionEconomics:
    clv, d, f, a, b, g = p
    return RetentionEconomics(
        clv=clv, incentive_cost=d, contact_cost=f, alpha=a, beta=b, accept_rate=g
    )


def _data(seed: int, n: int, prevalence: float = 0.3, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(int)
    y[0], y[1] = 0, 1  # both classes, always
    score = rng.normal(size=n) + 1.2 * y
    score = 1.0 / (1.0 + np.exp(-score))
    if decimals is not None:
        score = np.round(score, decimals)
    return y, score


def _check_against_empulse(y, s, p) -> None:
    ekw, mkw, e = _empc_kw(p), _mpc_kw(p), _economics(p)
    assert empc(y, s, e).profit == pytest.approx(
        ref_empc(y, s, **ekw), rel=TOL, abs=TOL
    )
    assert empc(y, s, e).rate == pytest.approx(
        ref_empc.optimal_rate(y, s, **ekw), rel=TOL, abs=TOL
    )
    assert mpc(y, s, e).profit == pytest.approx(ref_mpc(y, s, **mkw), rel=TOL, abs=TOL)
    rate = mpc(y, s, e).rate
    assert rate == pytest.approx(ref_mpc.optimal_rate(y, s, **mkw), abs=TOL)
    threshold = mpc(y, s, e).threshold
    ref_threshold = ref_mpc.optimal_threshold(y, s, **mkw)
    if rate == 0:
        # empulse reports 1.0 for "target no one"; we report +inf so that
        # score >= threshold selects nobody on any score scale.
        assert threshold == math.inf
        assert ref_threshold == 1.0
    else:
        assert threshold == pytest.approx(ref_threshold, abs=0)


# --------------------------------------------------------------------------- #
# Reference case from CONTEXT.md
# --------------------------------------------------------------------------- #


def test_reference_values() -> None:
    assert empc(Y_REF, S_REF).profit == pytest.approx(20.208387989900114, abs=TOL)
    assert empc(Y_REF, S_REF).rate == pytest.approx(0.5936879170049371, abs=TOL)
    assert mpc(Y_REF, S_REF).profit == pytest.approx(20.2, abs=TOL)
    assert mpc(Y_REF, S_REF).rate == pytest.approx(0.6, abs=TOL)
    assert mpc(Y_REF, S_REF).threshold == 0.35
    assert lift_score(Y_REF, S_REF, fraction=0.1) == pytest.approx(2.5, abs=TOL)


def test_reference_matches_empulse() -> None:
    assert ref_empc(Y_REF, S_REF) == pytest.approx(20.208387989900114, abs=TOL)
    assert ref_empc.optimal_rate(Y_REF, S_REF) == pytest.approx(
        0.5936879170049371, abs=TOL
    )
    assert ref_mpc(Y_REF, S_REF) == pytest.approx(20.2, abs=TOL)
    assert ref_lift(Y_REF, S_REF, fraction=0.1) == pytest.approx(2.5, abs=TOL)
    _check_against_empulse(np.array(Y_REF), np.array(S_REF), PARAMS[0])


def test_returns_plain_floats() -> None:
    for fn in (lift_score, expected_calibration_error):
        assert type(fn(Y_REF, S_REF)) is float
    for result in (empc(Y_REF, S_REF), mpc(Y_REF, S_REF)):
        assert all(type(value) is float for value in result)
    assert type(campaign_profit(Y_REF, S_REF, 0.5)) is float
    assert type(cost_sensitive_threshold()) is float
    assert type(expected_contact_profit(0.5)) is float


def test_accepts_bool_labels_and_lists() -> None:
    y_bool = np.array(Y_REF, dtype=bool)
    assert empc(y_bool, S_REF).profit == pytest.approx(empc(Y_REF, S_REF).profit)
    y_float = np.array(Y_REF, dtype=float)
    assert mpc(y_float, S_REF).profit == pytest.approx(20.2, abs=TOL)


# --------------------------------------------------------------------------- #
# Against empulse
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("n", [15, 200, 3000])
def test_random_scores_match_empulse(seed: int, n: int) -> None:
    y, s = _data(seed, n, prevalence=0.1 + 0.15 * seed)
    _check_against_empulse(y, s, PARAMS[0])


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("decimals", [1, 0])
def test_heavy_ties_match_empulse(seed: int, decimals: int) -> None:
    y, s = _data(seed, 500, decimals=decimals)
    assert len(np.unique(s)) <= 11
    for p in PARAMS:
        _check_against_empulse(y, s, p)


@pytest.mark.parametrize("p", PARAMS)
@pytest.mark.parametrize("seed", [5, 6])
def test_non_default_params_match_empulse(p: tuple[float, ...], seed: int) -> None:
    y, s = _data(seed, 400, prevalence=0.2)
    _check_against_empulse(y, s, p)


@pytest.mark.parametrize("p", PARAMS)
def test_perfect_and_inverted_rankings_match_empulse(p: tuple[float, ...]) -> None:
    y = np.array([0] * 30 + [1] * 10)
    perfect = y + np.linspace(0.0, 0.5, y.size)
    _check_against_empulse(y, perfect, p)
    _check_against_empulse(y, -perfect, p)


def test_perfect_ranking_closed_form() -> None:
    # Perfect ranking: target exactly the churners whenever gamma (clv - d) > f.
    y = np.array([0] * 8 + [1] * 2)
    s = y.astype(float)
    clv, d, f, a, b = 200.0, 10.0, 1.0, 6.0, 14.0
    pi0 = 0.2
    g0 = f / (clv - d)
    expected = pi0 * (
        (clv - d) * a / (a + b) * stats.beta(a + 1, b).sf(g0)
        - f * stats.beta(a, b).sf(g0)
    )
    assert empc(y, s).profit == pytest.approx(expected, abs=TOL)
    assert empc(y, s).rate == pytest.approx(pi0 * stats.beta(a, b).sf(g0), abs=TOL)
    assert mpc(y, s).profit == pytest.approx(pi0 * (0.3 * (clv - d) - f), abs=TOL)
    assert mpc(y, s).rate == pytest.approx(pi0)


def test_inverted_ranking_targets_no_one_at_mpc() -> None:
    y = np.array([0] * 8 + [1] * 2)
    s = 1.0 - y
    # Churners are only reached by contacting everyone: 2 * (0.05 * 190 - 1) - 8 * 11
    # is a loss, so the best campaign is none.
    e = RetentionEconomics(accept_rate=0.05)
    assert mpc(y, s, e).profit == 0.0
    assert mpc(y, s, e).rate == 0.0
    assert mpc(y, s, e).threshold == math.inf
    assert campaign_profit(y, s, mpc(y, s, e).threshold, e) == 0.0
    # At the default gamma = 0.3, contacting everyone pays: (2 * 56 - 8 * 11) / 10.
    assert mpc(y, s).profit == pytest.approx(2.4)
    assert mpc(y, s).rate == 1.0


@pytest.mark.parametrize("fraction", [0.05, 0.1, 0.2, 0.33, 0.5, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lift_matches_empulse_without_ties(fraction: float, seed: int) -> None:
    y, s = _data(seed, 357)
    assert len(np.unique(s)) == s.size
    assert lift_score(y, s, fraction=fraction) == pytest.approx(
        ref_lift(y, s, fraction=fraction), rel=TOL
    )


# --------------------------------------------------------------------------- #
# Independent checks (no empulse)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("decimals", [None, 1])
def test_empc_matches_numerical_quadrature(seed: int, decimals: int | None) -> None:
    # Brute force: the best of *all* ROC points (no hull) at each gamma, integrated
    # numerically against the Beta density. The best index only grows with gamma,
    # so bisection finds the pieces on which it is constant; quad integrates each.
    y, s = _data(seed, 120, decimals=decimals)
    clv, d, f, a, b = 200.0, 10.0, 1.0, 6.0, 14.0
    order = np.argsort(-s)
    tp = np.r_[0, np.cumsum(y[order])]
    fp = np.r_[0, np.cumsum(1 - y[order])]
    keep = np.r_[True, s[order][1:] != s[order][:-1], True]
    tp, fp = tp[keep], fp[keep]
    n = y.size

    def best(gamma: float) -> int:
        return int(np.argmax(tp * (gamma * (clv - d) - f) - fp * (d + f)))

    pieces: list[tuple[float, float, int]] = []

    def split(lo: float, hi: float, k_lo: int, k_hi: int) -> None:
        if k_lo == k_hi:
            pieces.append((lo, hi, k_lo))
        elif hi - lo > 1e-13:
            mid = 0.5 * (lo + hi)
            k_mid = best(mid)
            split(lo, mid, k_lo, k_mid)
            split(mid, hi, k_mid, k_hi)

    grid = np.linspace(0.0, 1.0, 65)
    for lo, hi in itertools.pairwise(grid):
        split(lo, hi, best(lo), best(hi))

    density = stats.beta(a, b).pdf
    expected = rate = 0.0
    for lo, hi, k in pieces:
        mass = integrate.quad(density, lo, hi, epsabs=1e-13)[0]
        mean = integrate.quad(lambda g: g * density(g), lo, hi, epsabs=1e-13)[0]
        expected += (tp[k] * ((clv - d) * mean - f * mass) - fp[k] * (d + f) * mass) / n
        rate += (tp[k] + fp[k]) / n * mass
    assert empc(y, s).profit == pytest.approx(expected, abs=1e-9)
    assert empc(y, s).rate == pytest.approx(rate, abs=1e-9)


@pytest.mark.parametrize(
    "transform",
    [
        lambda s: 5.0 * s - 2.0,
        lambda s: s**3,
        np.log,
        lambda s: np.log(s / (1.0 - s)),
        lambda s: np.exp(4.0 * s),
    ],
)
@pytest.mark.parametrize("decimals", [None, 1])
def test_empc_invariant_under_monotone_transform(transform, decimals) -> None:
    y, s = _data(11, 300, decimals=decimals)
    s = np.clip(s, 0.01, 0.99)
    t = transform(s)
    assert empc(y, t).profit == pytest.approx(empc(y, s).profit, rel=TOL, abs=TOL)
    assert empc(y, t).rate == pytest.approx(empc(y, s).rate, abs=TOL)
    assert mpc(y, t).profit == pytest.approx(mpc(y, s).profit, abs=TOL)


def test_order_independent_with_ties() -> None:
    y, s = _data(3, 200, decimals=1)
    perm = np.random.default_rng(0).permutation(y.size)
    for fn in (empc, mpc, lift_score):
        assert fn(y[perm], s[perm]) == pytest.approx(fn(y, s), abs=TOL)


def test_mpc_consistent_with_profit_curve_and_campaign_profit() -> None:
    for seed in range(4):
        y, s = _data(seed, 250, decimals=2 if seed % 2 else None)
        for p in PARAMS:
            e = _economics(p)
            best = mpc(y, s, e).profit
            frac, profit = profit_curve(y, s, e)
            assert profit.max() == pytest.approx(best, abs=TOL)
            assert frac[np.argmax(profit)] == pytest.approx(mpc(y, s, e).rate)
            t = mpc(y, s, e).threshold
            assert campaign_profit(y, s, t, e) == pytest.approx(best, abs=TOL)
            assert np.mean(s >= t) == pytest.approx(mpc(y, s, e).rate)


def test_profit_curve_reference() -> None:
    frac, profit = profit_curve(Y_REF, S_REF)
    assert frac[0] == 0.0
    assert profit[0] == 0.0
    assert frac[-1] == 1.0
    # Everyone targeted: 4 churners * (0.3 * 190 - 1) - 6 * 11, per customer.
    assert profit[-1] == pytest.approx((4 * 56 - 6 * 11) / 10)
    assert campaign_profit(Y_REF, S_REF, 0.6) == pytest.approx(3 * 56 / 10)


def test_lift_tie_handling() -> None:
    # Top 2 of 10: the best score is a churner; the 2nd slot is shared by three
    # tied accounts, one of them a churner -> 1 + 1/3 churners expected in top 2.
    y = [1, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    s = [0.9, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    expected = ((1 + 1 / 3) / 2) / 0.3
    assert lift_score(y, s, fraction=0.2) == pytest.approx(expected)
    assert lift_score(y[::-1], s[::-1], fraction=0.2) == pytest.approx(expected)
    # All scores tied -> lift is exactly 1.
    assert lift_score(y, [0.3] * 10, fraction=0.1) == pytest.approx(1.0)
    assert lift_score(y, s, fraction=1.0) == pytest.approx(1.0)


def test_cumulative_gains() -> None:
    x, g = cumulative_gains(Y_REF, S_REF)
    assert (x[0], g[0]) == (0.0, 0.0)
    assert (x[-1], g[-1]) == (1.0, 1.0)
    assert np.all(np.diff(x) > 0)
    assert np.all(np.diff(g) >= 0)
    y, s = _data(2, 500, decimals=1)
    x, g = cumulative_gains(y, s)
    assert (x[-1], g[-1]) == (1.0, 1.0)
    assert x.size == np.unique(s).size + 1


# --------------------------------------------------------------------------- #
# Per-account decision rule
# --------------------------------------------------------------------------- #


def test_cost_sensitive_threshold_formula() -> None:
    assert cost_sensitive_threshold() == pytest.approx(11 / (0.3 * 190 + 10))
    e = RetentionEconomics(
        clv=500.0, incentive_cost=50.0, contact_cost=5.0, accept_rate=0.1
    )
    assert cost_sensitive_threshold(e) == pytest.approx(55 / (0.1 * 450 + 50))


@pytest.mark.parametrize("p", PARAMS)
def test_expected_contact_profit_sign_matches_threshold(p: tuple[float, ...]) -> None:
    e = _economics(p)
    p_star = cost_sensitive_threshold(e)
    probs = np.r_[np.linspace(0, 1, 1001), np.random.default_rng(0).random(1000)]
    probs = probs[np.abs(probs - p_star) > 1e-9]
    profit = expected_contact_profit(probs, e)
    assert isinstance(profit, np.ndarray)
    np.testing.assert_array_equal(profit >= 0, probs >= p_star)
    if p_star <= 1:
        assert expected_contact_profit(p_star, e) == pytest.approx(0, abs=1e-9)


def test_expected_contact_profit_per_account_clv() -> None:
    probs = np.array([0.2, 0.2, 0.5, 0.05])
    clv = np.array([100.0, 400.0, 50.0, 1000.0])
    out = expected_contact_profit(probs, clv=clv)
    expected = probs * 0.3 * (clv - 10) - (1 - probs) * 10 - 1
    np.testing.assert_allclose(out, expected)
    for prob, value, c in zip(probs, out, clv, strict=True):
        assert (value >= 0) == (
            prob >= cost_sensitive_threshold(RetentionEconomics(clv=float(c)))
        )
    with pytest.raises(ValueError, match="clv must be greater than incentive_cost"):
        expected_contact_profit(probs, clv=[100.0, 5.0, 50.0, 60.0])
    with pytest.raises(ValueError, match="broadcast"):
        expected_contact_profit(probs, clv=[100.0, 200.0])
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        expected_contact_profit([0.5, 1.5])


# --------------------------------------------------------------------------- #
# Calibration
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_ece_zero_when_perfectly_calibrated(strategy: str) -> None:
    y = [0, 0, 0, 1, 0, 1, 1, 1, 0, 1]
    p = [0.25] * 4 + [0.75] * 4 + [0.5] * 2
    assert expected_calibration_error(y, p, n_bins=5, strategy=strategy) == (
        pytest.approx(0.0, abs=1e-12)
    )


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_ece_positive_when_miscalibrated(strategy: str) -> None:
    y = [0, 1] * 10
    assert expected_calibration_error(y, [0.9] * 20, strategy=strategy) == (
        pytest.approx(0.4)
    )
    # Calibrated by construction, then pushed towards 1: ECE grows by ~the shift.
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 20_000)
    y2 = (rng.random(p.size) < p).astype(int)
    good = expected_calibration_error(y2, p, strategy=strategy)
    bad = expected_calibration_error(y2, 0.5 * p + 0.5, strategy=strategy)
    assert good < 0.02
    assert bad > 0.2


def test_ece_hand_computed_and_single_class() -> None:
    y = [0, 1, 1, 0]
    p = [0.1, 0.2, 0.8, 0.9]
    # Bins [0, .5): gap |1 - 0.3| = 0.7; [.5, 1]: |1 - 1.7| = 0.7 -> 1.4 / 4.
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.35)
    # One class is fine for calibration: all zeros scored 0.2 -> ECE 0.2.
    assert expected_calibration_error([0] * 5, [0.2] * 5) == pytest.approx(0.2)


def test_ece_invalid_arguments() -> None:
    with pytest.raises(ValueError, match="'uniform', 'quantile'"):
        expected_calibration_error(Y_REF, S_REF, strategy="kmeans")
    with pytest.raises(ValueError, match="n_bins must be >= 1"):
        expected_calibration_error(Y_REF, S_REF, n_bins=0)
    with pytest.raises(TypeError, match="n_bins"):
        expected_calibration_error(Y_REF, S_REF, n_bins=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"within \[0, 1\]"):
        expected_calibration_error([0, 1], [0.5, 1.2])


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #

RANKING = [empc, mpc, lift_score, cumulative_gains]


@pytest.mark.parametrize("fn", RANKING)
@pytest.mark.parametrize("label", [0, 1])
def test_single_class_is_rejected(fn, label: int) -> None:
    with pytest.raises(ValueError, match="need both classes"):
        fn([label] * 5, [0.1, 0.2, 0.3, 0.4, 0.5])


def test_single_class_allowed_for_realised_profit() -> None:
    # Profit of a campaign is defined even if nobody churned.
    assert campaign_profit([0] * 4, [0.1, 0.2, 0.3, 0.4], 0.25) == pytest.approx(
        -11 * 2 / 4
    )
    _, profit = profit_curve([0] * 4, [0.1, 0.2, 0.3, 0.4])
    assert profit[-1] == pytest.approx(-11.0)


@pytest.mark.parametrize(
    ("y", "s", "match"),
    [
        ([[0, 1], [1, 0]], [[0.1, 0.2], [0.3, 0.4]], "1-D"),
        ([0, 1, 1], [0.1, 0.2], "same length"),
        ([0, 1, 2], [0.1, 0.2, 0.3], "only 0 and 1"),
        ([0, 1, 0.5], [0.1, 0.2, 0.3], "only 0 and 1"),
        (["a", "b"], [0.1, 0.2], "binary"),
        ([0, 1, 1], [0.1, np.nan, 0.3], "finite"),
        ([0, 1, 1], [0.1, np.inf, 0.3], "finite"),
        ([], [], "empty"),
    ],
)
@pytest.mark.parametrize("fn", [*RANKING, profit_curve])
def test_invalid_inputs(fn, y, s, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fn(y, s)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"clv": 10.0, "incentive_cost": 10.0}, "clv must be greater than"),
        ({"clv": 5.0}, "clv must be greater than"),
        ({"incentive_cost": -1.0}, "incentive_cost must be >= 0"),
        ({"contact_cost": -0.5}, "contact_cost must be >= 0"),
        ({"clv": float("nan")}, "clv must be finite"),
    ],
)
@pytest.mark.parametrize("fn", [empc, mpc, profit_curve])
def test_invalid_cost_params(fn, kwargs, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fn(Y_REF, S_REF, RetentionEconomics(**kwargs))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 0.0}, "alpha must be > 0"),
        ({"beta": -2.0}, "beta must be > 0"),
    ],
)
@pytest.mark.parametrize("fn", [empc])
def test_invalid_beta_params(fn, kwargs, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fn(Y_REF, S_REF, RetentionEconomics(**kwargs))


@pytest.mark.parametrize("accept_rate", [0.0, -0.1, 1.01])
def test_invalid_accept_rate(accept_rate: float) -> None:
    match = "0 < accept_rate <= 1"
    for fn in (mpc,):
        with pytest.raises(ValueError, match=match):
            fn(Y_REF, S_REF, RetentionEconomics(accept_rate=accept_rate))
    with pytest.raises(ValueError, match=match):
        cost_sensitive_threshold(RetentionEconomics(accept_rate=accept_rate))
    with pytest.raises(ValueError, match=match):
        expected_contact_profit(0.5, RetentionEconomics(accept_rate=accept_rate))
    with pytest.raises(ValueError, match=match):
        campaign_profit(Y_REF, S_REF, 0.5, RetentionEconomics(accept_rate=accept_rate))


def test_invalid_param_types_and_fraction() -> None:
    with pytest.raises(TypeError, match="clv must be a real number"):
        empc(Y_REF, S_REF, RetentionEconomics(clv="200"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="0 < fraction <= 1"):
        lift_score(Y_REF, S_REF, fraction=0.0)
    with pytest.raises(ValueError, match="0 < fraction <= 1"):
        lift_score(Y_REF, S_REF, fraction=1.5)
    with pytest.raises(ValueError, match="threshold must not be NaN"):
        campaign_profit(Y_REF, S_REF, float("nan"))


@pytest.mark.parametrize("decimals", [None, 1, 0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_roc_convex_hull_is_upper_hull(seed: int, decimals: int | None) -> None:
    y, s = _data(seed, 300, decimals=decimals)
    roc = roc_points(y, s)
    hull = roc_convex_hull(y, s)
    assert (hull.tp[0], hull.fp[0]) == (0, 0)
    assert (hull.tp[-1], hull.fp[-1]) == (y.sum(), y.size - y.sum())
    assert hull.thresholds[0] == math.inf
    # Vertices are ROC points (ties never split) with strictly falling slopes.
    points = set(zip(roc.tp.tolist(), roc.fp.tolist(), strict=True))
    assert set(zip(hull.tp.tolist(), hull.fp.tolist(), strict=True)) <= points
    d_tp, d_fp = np.diff(hull.tp), np.diff(hull.fp)
    assert np.all(d_fp[:-1] * d_tp[1:] - d_tp[:-1] * d_fp[1:] < 0)
    # Every ROC point lies on or under the hull (a vertical first segment keeps
    # only its top point for interpolation).
    top = np.r_[np.diff(hull.fp) > 0, True]
    upper = np.interp(roc.fp, hull.fp[top], hull.tp[top])
    assert np.all(roc.tp <= upper + 1e-9)
    for tp, fp, t in zip(hull.tp, hull.fp, hull.thresholds, strict=True):
        assert (y[s >= t].sum(), (s >= t).sum() - y[s >= t].sum()) == (tp, fp)
