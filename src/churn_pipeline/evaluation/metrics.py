"""Profit-aware and ranking metrics for churn models.

A retention campaign targets the accounts scored highest. Each targeted churner
accepts the offer with probability ``gamma`` and is then worth ``clv - d``; every
targeted account costs the contact cost ``f``; every targeted non-churner also
costs the incentive ``d``. With ``F0``/``F1`` the fractions of churners /
non-churners targeted and ``pi0``/``pi1`` the class shares, the campaign profit
per customer is (Verbraken, Verbeke & Baesens 2013, IEEE TKDE 25(5))::

    P(gamma) = pi0 * F0 * (gamma * (clv - d) - f) - pi1 * F1 * (d + f)

MPC is its maximum over cut-offs at a fixed ``gamma``; EMPC is the expectation of
that maximum over ``gamma ~ Beta(alpha, beta)``, computed exactly on the ROC
convex hull. Churn is the positive class (``y_true == 1``) and higher scores mean
more likely to churn. Only numpy and scipy are used.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import betainc

__all__ = [
    "campaign_profit",
    "cost_sensitive_threshold",
    "cumulative_gains",
    "empc_optimal_rate",
    "empc_score",
    "expected_calibration_error",
    "expected_contact_profit",
    "lift_score",
    "mpc_optimal_rate",
    "mpc_optimal_threshold",
    "mpc_score",
    "profit_curve",
]

FloatArray = npt.NDArray[np.float64]

_ECE_STRATEGIES = ("uniform", "quantile")

# What a backtest reports for every model, in this order.
BACKTEST_METRICS = (
    "roc_auc",
    "pr_auc",
    "top_decile_lift",
    "empc",
    "mpc",
    "brier",
    "ece",
)


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _real(name: str, value: object) -> float:
    # bool is a numbers.Real subclass, but True as a cost is almost surely a bug.
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result


def _nonnegative(name: str, value: object) -> float:
    result = _real(name, value)
    if result < 0:
        raise ValueError(f"{name} must be >= 0, got {result!r}")
    return result


def _check_costs(
    clv: float, incentive_cost: float, contact_cost: float
) -> tuple[float, float, float]:
    clv_ = _real("clv", clv)
    d = _nonnegative("incentive_cost", incentive_cost)
    f = _nonnegative("contact_cost", contact_cost)
    if not clv_ > d:
        raise ValueError(
            "clv must be greater than incentive_cost (clv > incentive_cost >= 0), "
            f"got clv={clv_!r} and incentive_cost={d!r}"
        )
    return clv_, d, f


def _check_accept_rate(accept_rate: float) -> float:
    gamma = _real("accept_rate", accept_rate)
    if not 0 < gamma <= 1:
        raise ValueError(
            f"accept_rate must satisfy 0 < accept_rate <= 1, got {gamma!r}"
        )
    return gamma


def _check_beta(alpha: float, beta: float) -> tuple[float, float]:
    a = _real("alpha", alpha)
    b = _real("beta", beta)
    if not a > 0:
        raise ValueError(f"alpha must be > 0, got {a!r}")
    if not b > 0:
        raise ValueError(f"beta must be > 0, got {b!r}")
    return a, b


def _check_1d(name: str, values: npt.ArrayLike) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty")
    return array


def _check_labels(y_true: npt.ArrayLike) -> npt.NDArray[np.int64]:
    y = _check_1d("y_true", y_true)
    if y.dtype == np.bool_:
        return y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.number):
        raise ValueError(f"y_true must be binary 0/1 or bool, got dtype {y.dtype}")
    if not np.all((y == 0) | (y == 1)):
        bad = np.unique(y[(y != 0) & (y != 1)])[:5]
        raise ValueError(f"y_true must contain only 0 and 1, found {bad.tolist()}")
    return y.astype(np.int64)


def _check_scores(name: str, y_score: npt.ArrayLike) -> FloatArray:
    s = _check_1d(name, y_score)
    if s.dtype == np.bool_ or not np.issubdtype(s.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {s.dtype}")
    if np.issubdtype(s.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real-valued, got dtype {s.dtype}")
    s = s.astype(np.float64)
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return s


def _check_inputs(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    score_name: str = "y_score",
    both_classes: bool = True,
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    y = _check_labels(y_true)
    s = _check_scores(score_name, y_score)
    if y.shape[0] != s.shape[0]:
        raise ValueError(
            f"y_true and {score_name} must have the same length, "
            f"got {y.shape[0]} and {s.shape[0]}"
        )
    if both_classes:
        n_pos = int(y.sum())
        if n_pos in (0, y.shape[0]):
            only = "churners (1)" if n_pos else "non-churners (0)"
            raise ValueError(
                f"y_true contains only {only}; ranking metrics (ROC hull, EMPC, MPC, "
                "lift, gains) need both classes"
            )
    return y, s


# --------------------------------------------------------------------------- #
# ROC points and convex hull
# --------------------------------------------------------------------------- #


class _RocPoints(NamedTuple):
    """Cumulative counts when targeting every score >= threshold, best first.

    Row 0 is "target no one" (threshold +inf); tied scores form one point, so the
    result does not depend on the order of the input.
    """

    tp: npt.NDArray[np.int64]
    fp: npt.NDArray[np.int64]
    thresholds: FloatArray
    n_pos: int
    n_neg: int


def _roc_points(y: npt.NDArray[np.int64], s: FloatArray) -> _RocPoints:
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    # Last index of each run of tied scores: only there is the cut-off well defined.
    ends = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])
    tp = np.cumsum(y[order])[ends]
    fp = ends + 1 - tp
    n_pos = int(y.sum())
    return _RocPoints(
        tp=np.r_[0, tp].astype(np.int64),
        fp=np.r_[0, fp].astype(np.int64),
        thresholds=np.r_[np.inf, s_sorted[ends]],
        n_pos=n_pos,
        n_neg=int(y.shape[0] - n_pos),
    )


def _roc_convex_hull(y: npt.NDArray[np.int64], s: FloatArray) -> _RocPoints:
    """Upper ROC convex hull from (0, 0) to (1, 1), collinear points dropped.

    Works on integer counts, so the turn test is exact. Tied scores are one ROC
    point (a diagonal step), never split. Any profit that rewards true positives
    and penalises false positives is maximised at one of these vertices.
    """
    roc = _roc_points(y, s)
    # A hull vertex must be a strict right turn w.r.t. its own neighbours; dropping
    # the rest up front leaves the Python scan below only a few candidates.
    d_tp, d_fp = np.diff(roc.tp), np.diff(roc.fp)
    turn = d_fp[:-1] * d_tp[1:] - d_tp[:-1] * d_fp[1:]
    candidates = np.flatnonzero(np.r_[True, turn < 0, True])
    tps = roc.tp[candidates].tolist()
    fps = roc.fp[candidates].tolist()
    hull: list[int] = []
    for i in range(len(tps)):
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            cross = (fps[a] - fps[o]) * (tps[i] - tps[o]) - (tps[a] - tps[o]) * (
                fps[i] - fps[o]
            )
            # Keep only strict right turns: a non-negative cross product means the
            # middle point lies under or on the chord.
            if cross >= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    idx = candidates[np.asarray(hull, dtype=np.intp)]
    return _RocPoints(
        tp=roc.tp[idx],
        fp=roc.fp[idx],
        thresholds=roc.thresholds[idx],
        n_pos=roc.n_pos,
        n_neg=roc.n_neg,
    )


def _profit_totals(
    tp: npt.NDArray[np.int64],
    fp: npt.NDArray[np.int64],
    *,
    clv: float,
    d: float,
    f: float,
    gamma: float,
) -> FloatArray:
    # Summed over customers (not averaged) so equal campaigns compare equal more
    # often; callers divide by n at the very end.
    return tp * (gamma * (clv - d) - f) - fp * (d + f)


# --------------------------------------------------------------------------- #
# EMPC
# --------------------------------------------------------------------------- #


def _empc(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    clv: float,
    incentive_cost: float,
    contact_cost: float,
    alpha: float,
    beta: float,
) -> tuple[float, float]:
    clv_, d, f = _check_costs(clv, incentive_cost, contact_cost)
    a, b = _check_beta(alpha, beta)
    y, s = _check_inputs(y_true, y_score)
    hull = _roc_convex_hull(y, s)
    n = hull.n_pos + hull.n_neg

    # Moving from hull vertex k to k+1 adds dTP * (gamma (clv - d) - f) - dFP (d + f),
    # which is positive exactly for gamma above this break-point.
    d_tp = np.diff(hull.tp).astype(np.float64)
    d_fp = np.diff(hull.fp).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        breaks = (d_fp * (d + f) / d_tp + f) / (clv_ - d)
    breaks[d_tp == 0] = np.inf
    # Hull slopes decrease, so break-points increase; accumulate guards rounding.
    breaks = np.clip(np.maximum.accumulate(breaks), 0.0, 1.0)
    edges = np.r_[0.0, breaks, 1.0]

    # Vertex k is optimal for gamma in [edges[k], edges[k + 1]].
    cdf = betainc(a, b, edges)
    # E[gamma; interval] = alpha / (alpha + beta) * (I(alpha + 1, beta) difference).
    cdf_1 = betainc(a + 1.0, b, edges)
    prob = np.diff(cdf)
    first_moment = a / (a + b) * np.diff(cdf_1)

    tp = hull.tp.astype(np.float64)
    fp = hull.fp.astype(np.float64)
    profit = tp * (clv_ - d) * first_moment - (tp * f + fp * (d + f)) * prob
    rate = (tp + fp) / n * prob
    return float(profit.sum() / n), float(rate.sum())


def empc_score(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    clv: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    alpha: float = 6.0,
    beta: float = 14.0,
) -> float:
    """Compute the expected maximum profit per customer for churn (EMPC).

    ``EMPC = E_gamma[max_T P(T; gamma)]`` with ``gamma ~ Beta(alpha, beta)`` and
    ``P = pi0 F0 (gamma (clv - d) - f) - pi1 F1 (d + f)``. Each ROC-hull vertex is
    optimal on a ``gamma`` interval; ``P`` is linear in ``gamma``, so each interval
    integrates in closed form with the regularised incomplete beta function.

    Args:
        y_true: Churn labels, 1 = churner.
        y_score: Scores, higher = more likely to churn. Only the ranking matters.
        clv: Customer lifetime value (CLV).
        incentive_cost: Cost ``d`` of the retention offer.
        contact_cost: Cost ``f`` of contacting one customer.
        alpha: First shape parameter of the Beta prior on the accept rate.
        beta: Second shape parameter of the Beta prior on the accept rate.

    Returns:
        Expected maximum profit per customer, in the currency of ``clv``.

    """
    return _empc(
        y_true,
        y_score,
        clv=clv,
        incentive_cost=incentive_cost,
        contact_cost=contact_cost,
        alpha=alpha,
        beta=beta,
    )[0]


def empc_optimal_rate(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    clv: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    alpha: float = 6.0,
    beta: float = 14.0,
) -> float:
    """Compute the expected profit-optimal fraction to target (EMPC's eta).

    ``eta = sum_k (pi0 F0_k + pi1 F1_k) * P(gamma in region_k)`` over the ROC-hull
    vertices, each weighted by the Beta probability of the accept-rate interval on
    which it is the optimal cut-off. Arguments as in :func:`empc_score`.

    Returns:
        Fraction of the customer base to target, in [0, 1].

    """
    return _empc(
        y_true,
        y_score,
        clv=clv,
        incentive_cost=incentive_cost,
        contact_cost=contact_cost,
        alpha=alpha,
        beta=beta,
    )[1]


# --------------------------------------------------------------------------- #
# MPC
# --------------------------------------------------------------------------- #


def _mpc(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    clv: float,
    incentive_cost: float,
    contact_cost: float,
    accept_rate: float,
) -> tuple[float, float, float]:
    clv_, d, f = _check_costs(clv, incentive_cost, contact_cost)
    gamma = _check_accept_rate(accept_rate)
    y, s = _check_inputs(y_true, y_score)
    hull = _roc_convex_hull(y, s)
    n = hull.n_pos + hull.n_neg
    totals = _profit_totals(hull.tp, hull.fp, clv=clv_, d=d, f=f, gamma=gamma)
    best = float(totals.max())
    # Among campaigns equal up to rounding, contact the fewest customers.
    tol = 1e-12 * max(1.0, abs(best), float(np.abs(totals).max()))
    k = int(np.flatnonzero(totals >= best - tol)[0])
    return (
        float(totals[k] / n),
        float((hull.tp[k] + hull.fp[k]) / n),
        float(hull.thresholds[k]),
    )


def mpc_score(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    clv: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    accept_rate: float = 0.3,
) -> float:
    """Maximum campaign profit per customer at a fixed accept rate (MPC).

    ``MPC = max_T pi0 F0(T) (gamma (clv - d) - f) - pi1 F1(T) (d + f)``.

    Args:
        y_true: Churn labels, 1 = churner.
        y_score: Scores, higher = more likely to churn.
        clv: Customer lifetime value (CLV).
        incentive_cost: Cost ``d`` of the retention offer.
        contact_cost: Cost ``f`` of contacting one customer.
        accept_rate: Probability ``gamma`` that a contacted churner stays.

    Returns:
        Maximum profit per customer (0 when contacting no one is best).

    """
    return _mpc(
        y_true,
        y_score,
        clv=clv,
        incentive_cost=incentive_cost,
        contact_cost=contact_cost,
        accept_rate=accept_rate,
    )[0]


def mpc_optimal_rate(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    clv: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    accept_rate: float = 0.3,
) -> float:
    """Fraction of customers targeted at the MPC optimum: ``pi0 F0 + pi1 F1``.

    Ties in profit go to the campaign contacting fewer customers. Arguments as in
    :func:`mpc_score`.

    Returns:
        Fraction of the customer base to target, in [0, 1].

    """
    return _mpc(
        y_true,
        y_score,
        clv=clv,
        incentive_cost=incentive_cost,
        contact_cost=contact_cost,
        accept_rate=accept_rate,
    )[1]


def mpc_optimal_threshold(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    clv: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    accept_rate: float = 0.3,
) -> float:
    """Score threshold of the MPC optimum: target accounts with ``score >= t``.

    Arguments as in :func:`mpc_score`.

    Returns:
        The lowest score targeted, or ``math.inf`` when contacting no one is best
        (so ``score >= t`` selects nobody whatever the score scale).

    """
    return _mpc(
        y_true,
        y_score,
        clv=clv,
        incentive_cost=incentive_cost,
        contact_cost=contact_cost,
        accept_rate=accept_rate,
    )[2]


# --------------------------------------------------------------------------- #
# Per-account decision
# --------------------------------------------------------------------------- #


def cost_sensitive_threshold(
    *,
    clv: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    accept_rate: float = 0.3,
) -> float:
    """Calibrated churn probability above which contacting an account pays.

    ``p* = (d + f) / (gamma (clv - d) + d)``, the root of
    :func:`expected_contact_profit`. A value above 1 means no account is worth
    contacting at these costs.

    Args:
        clv: Customer lifetime value (CLV).
        incentive_cost: Cost ``d`` of the retention offer.
        contact_cost: Cost ``f`` of contacting one customer.
        accept_rate: Probability ``gamma`` that a contacted churner stays.

    Returns:
        The break-even probability ``p*``.

    """
    clv_, d, f = _check_costs(clv, incentive_cost, contact_cost)
    gamma = _check_accept_rate(accept_rate)
    return (d + f) / (gamma * (clv_ - d) + d)


def expected_contact_profit(
    probability: npt.ArrayLike,
    *,
    clv: npt.ArrayLike = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    accept_rate: float = 0.3,
) -> float | FloatArray:
    """Compute the expected profit of contacting each account, given its p(churn).

    ``E = p gamma (clv - d) - (1 - p) d - f``: a churner who accepts is kept for
    ``clv - d``; a non-churner takes the offer anyway and costs ``d``; everyone
    costs ``f``. ``E >= 0`` exactly when ``p >= p*`` (:func:`cost_sensitive_threshold`).

    Args:
        probability: Calibrated churn probabilities in [0, 1] (scalar or array).
        clv: CLV, a scalar or one value per account (broadcast with probability).
        incentive_cost: Cost ``d`` of the retention offer.
        contact_cost: Cost ``f`` of contacting one customer.
        accept_rate: Probability ``gamma`` that a contacted churner stays.

    Returns:
        A float for scalar inputs, otherwise an array of expected profits.

    """
    d = _nonnegative("incentive_cost", incentive_cost)
    f = _nonnegative("contact_cost", contact_cost)
    gamma = _check_accept_rate(accept_rate)

    p = np.asarray(probability)
    if p.dtype == np.bool_ or not np.issubdtype(p.dtype, np.number):
        raise ValueError(f"probability must be numeric, got dtype {p.dtype}")
    p = p.astype(np.float64)
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("probability must be finite and within [0, 1]")

    clv_arr = np.asarray(clv)
    if clv_arr.dtype == np.bool_ or not np.issubdtype(clv_arr.dtype, np.number):
        raise ValueError(f"clv must be numeric, got dtype {clv_arr.dtype}")
    clv_arr = clv_arr.astype(np.float64)
    if not np.all(np.isfinite(clv_arr)):
        raise ValueError("clv must be finite")
    if not np.all(clv_arr > d):
        raise ValueError(
            "clv must be greater than incentive_cost (clv > incentive_cost >= 0) "
            f"for every account; incentive_cost={d!r}, min clv={clv_arr.min()!r}"
        )
    try:
        p, clv_arr = np.broadcast_arrays(p, clv_arr)
    except ValueError as err:
        raise ValueError(
            f"clv of shape {clv_arr.shape} does not broadcast with probability "
            f"of shape {p.shape}"
        ) from err

    profit = p * gamma * (clv_arr - d) - (1.0 - p) * d - f
    if profit.ndim == 0:
        return float(profit)
    return profit


# --------------------------------------------------------------------------- #
# Ranking metrics
# --------------------------------------------------------------------------- #


def lift_score(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike, *, fraction: float = 0.1
) -> float:
    """Lift in the top ``fraction`` of accounts by score.

    ``lift = churn rate among the top k / overall churn rate`` with
    ``k = max(1, round(n * fraction))`` (Python rounding, half to even, as in
    empulse). Ties: accounts tied with the k-th score share the remaining slots
    equally, i.e. the expected lift over random tie-breaking, so the result does
    not depend on the input order.

    Args:
        y_true: Churn labels, 1 = churner.
        y_score: Scores, higher = more likely to churn.
        fraction: Share of accounts targeted, 0 < fraction <= 1.

    Returns:
        The lift (1.0 = no better than random).

    """
    frac = _real("fraction", fraction)
    if not 0 < frac <= 1:
        raise ValueError(f"fraction must satisfy 0 < fraction <= 1, got {frac!r}")
    y, s = _check_inputs(y_true, y_score)
    n = y.shape[0]
    k = max(1, round(n * frac))

    cutoff = np.sort(s)[::-1][k - 1]
    above = s > cutoff
    tied = s == cutoff
    n_above = int(above.sum())
    churners = y[above].sum() + (k - n_above) * y[tied].sum() / tied.sum()
    return float((churners / k) / y.mean())


def cumulative_gains(
    y_true: npt.ArrayLike, y_score: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Cumulative gains curve: share targeted vs share of churners captured.

    One point per distinct score (ties are targeted together), starting at
    ``(0, 0)`` and ending at ``(1, 1)``.

    Args:
        y_true: Churn labels, 1 = churner.
        y_score: Scores, higher = more likely to churn.

    Returns:
        ``(fraction_targeted, fraction_of_churners_captured)``.

    """
    y, s = _check_inputs(y_true, y_score)
    roc = _roc_points(y, s)
    n = roc.n_pos + roc.n_neg
    return (roc.tp + roc.fp) / n, roc.tp / roc.n_pos


def profit_curve(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    clv: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    accept_rate: float = 0.3,
) -> tuple[FloatArray, FloatArray]:
    """Campaign profit per customer at every cut-off, for plotting.

    ``P = (TP (gamma (clv - d) - f) - FP (d + f)) / n`` at each distinct score,
    from targeting no one ``(0, 0)`` to everyone. Its maximum is :func:`mpc_score`.
    A single-class ``y_true`` is allowed: the profit is still well defined.

    Args:
        y_true: Churn labels, 1 = churner.
        y_score: Scores, higher = more likely to churn.
        clv: Customer lifetime value (CLV).
        incentive_cost: Cost ``d`` of the retention offer.
        contact_cost: Cost ``f`` of contacting one customer.
        accept_rate: Probability ``gamma`` that a contacted churner stays.

    Returns:
        ``(fraction_targeted, profit_per_customer)``.

    """
    clv_, d, f = _check_costs(clv, incentive_cost, contact_cost)
    gamma = _check_accept_rate(accept_rate)
    y, s = _check_inputs(y_true, y_score, both_classes=False)
    roc = _roc_points(y, s)
    n = roc.n_pos + roc.n_neg
    totals = _profit_totals(roc.tp, roc.fp, clv=clv_, d=d, f=f, gamma=gamma)
    return (roc.tp + roc.fp) / n, totals / n


def campaign_profit(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    threshold: float,
    *,
    clv: float = 200.0,
    incentive_cost: float = 10.0,
    contact_cost: float = 1.0,
    accept_rate: float = 0.3,
) -> float:
    """Profit per customer of contacting every account with ``score >= threshold``.

    ``P = (TP (gamma (clv - d) - f) - FP (d + f)) / n``. A single-class ``y_true``
    is allowed.

    Args:
        y_true: Churn labels, 1 = churner.
        y_score: Scores, higher = more likely to churn.
        threshold: Score cut-off; ``math.inf`` targets no one.
        clv: Customer lifetime value (CLV).
        incentive_cost: Cost ``d`` of the retention offer.
        contact_cost: Cost ``f`` of contacting one customer.
        accept_rate: Probability ``gamma`` that a contacted churner stays.

    Returns:
        Profit per customer.

    """
    clv_, d, f = _check_costs(clv, incentive_cost, contact_cost)
    gamma = _check_accept_rate(accept_rate)
    if isinstance(threshold, bool) or not isinstance(threshold, Real):
        raise TypeError(f"threshold must be a real number, got {threshold!r}")
    if math.isnan(threshold):
        raise ValueError("threshold must not be NaN")
    y, s = _check_inputs(y_true, y_score, both_classes=False)
    targeted = s >= threshold
    tp = np.asarray(y[targeted].sum(), dtype=np.int64)
    fp = np.asarray(targeted.sum() - tp, dtype=np.int64)
    total = _profit_totals(tp, fp, clv=clv_, d=d, f=f, gamma=gamma)
    return float(total / y.shape[0])


# --------------------------------------------------------------------------- #
# Calibration
# --------------------------------------------------------------------------- #


def expected_calibration_error(
    y_true: npt.ArrayLike,
    y_prob: npt.ArrayLike,
    *,
    n_bins: int = 10,
    strategy: str = "uniform",
) -> float:
    """Compute the ECE: ``sum_b (n_b / n) |mean(y_b) - mean(p_b)|``.

    Bins are equal-width on [0, 1] (``"uniform"``) or hold equal counts
    (``"quantile"``, duplicate edges merged); a value on an inner edge goes to the
    upper bin. A single-class ``y_true`` is allowed: calibration is still defined.

    Args:
        y_true: Churn labels, 1 = churner.
        y_prob: Predicted churn probabilities in [0, 1].
        n_bins: Number of bins, >= 1.
        strategy: ``"uniform"`` or ``"quantile"``.

    Returns:
        The ECE, in [0, 1].

    """
    if strategy not in _ECE_STRATEGIES:
        raise ValueError(
            f"strategy must be one of {', '.join(map(repr, _ECE_STRATEGIES))}; "
            f"got {strategy!r}"
        )
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer):
        raise TypeError(f"n_bins must be an int, got {n_bins!r}")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins!r}")
    y, p = _check_inputs(y_true, y_prob, score_name="y_prob", both_classes=False)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("y_prob must be within [0, 1]")

    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1)))
    bins = np.searchsorted(edges[1:-1], p, side="right")
    n_bins_used = max(len(edges) - 1, 1)
    counts = np.bincount(bins, minlength=n_bins_used)
    gap = np.bincount(bins, weights=y - p, minlength=n_bins_used)
    # |sum(y - p)| / n per bin equals (n_b / n) |mean(y_b) - mean(p_b)|.
    return float(np.abs(gap[counts > 0]).sum() / y.shape[0])
