"""Profit metrics of a retention campaign: EMPC, MPC, profit curve.

A campaign targets the accounts scored highest. Each targeted churner accepts the
offer with probability ``gamma`` and is then worth ``clv - d``; every targeted
account costs the contact cost ``f``; every targeted non-churner also costs the
incentive ``d`` (:class:`~churn_pipeline.evaluation.economics.RetentionEconomics`).
With ``F0``/``F1`` the fractions of churners / non-churners targeted and
``pi0``/``pi1`` the class shares, the campaign profit per customer is (Verbraken,
Verbeke & Baesens 2013, IEEE TKDE 25(5))::

    P(gamma) = pi0 * F0 * (gamma * (clv - d) - f) - pi1 * F1 * (d + f)

MPC is its maximum over cut-offs at a fixed ``gamma``; EMPC is the expectation of
that maximum over ``gamma ~ Beta(alpha, beta)``, computed exactly on the ROC
convex hull. Only numpy and scipy are used.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from scipy.special import betainc

from churn_pipeline.evaluation.checks import FloatArray, IntArray, check_inputs
from churn_pipeline.evaluation.economics import DEFAULT_ECONOMICS, RetentionEconomics
from churn_pipeline.evaluation.ranking import roc_convex_hull, roc_points

__all__ = [
    "EmpcResult",
    "MpcResult",
    "campaign_profit",
    "empc",
    "mpc",
    "profit_curve",
]


def _profit_totals(
    tp: IntArray, fp: IntArray, economics: RetentionEconomics
) -> FloatArray:
    # Summed over customers (not averaged) so equal campaigns compare equal more
    # often; callers divide by n at the very end.
    clv, d, f = economics.clv, economics.incentive_cost, economics.contact_cost
    return tp * (economics.accept_rate * (clv - d) - f) - fp * (d + f)


# --------------------------------------------------------------------------- #
# EMPC and MPC
# --------------------------------------------------------------------------- #


class EmpcResult(NamedTuple):
    """EMPC (expected maximum profit per customer) and the fraction it targets."""

    profit: float
    rate: float


class MpcResult(NamedTuple):
    """MPC (maximum profit per customer), the fraction targeted and the cut-off."""

    profit: float
    rate: float
    threshold: float


def empc(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    economics: RetentionEconomics = DEFAULT_ECONOMICS,
) -> EmpcResult:
    """Compute EMPC and its expected profit-optimal fraction to target (eta).

    ``EMPC = E_gamma[max_T P(T; gamma)]`` with ``gamma ~ Beta(alpha, beta)`` and
    ``P = pi0 F0 (gamma (clv - d) - f) - pi1 F1 (d + f)``. Each ROC-hull vertex is
    optimal on a ``gamma`` interval; ``P`` is linear in ``gamma``, so each interval
    integrates in closed form with the regularised incomplete beta function.
    ``eta = sum_k (pi0 F0_k + pi1 F1_k) * P(gamma in region_k)`` over the vertices.

    Args:
        y_true: Churn labels, 1 = churner.
        y_score: Scores, higher = more likely to churn. Only the ranking matters.
        economics: CLV, costs and the Beta(alpha, beta) prior on the accept rate
            (its ``accept_rate`` is not used).

    Returns:
        Expected maximum profit per customer, in the currency of ``clv``, and the
        fraction of the customer base to target, in [0, 1].

    """
    clv, d, f = economics.clv, economics.incentive_cost, economics.contact_cost
    a, b = economics.alpha, economics.beta
    hull = roc_convex_hull(*check_inputs(y_true, y_score))
    n = hull.n_pos + hull.n_neg

    # Moving from hull vertex k to k+1 adds dTP * (gamma (clv - d) - f) - dFP (d + f),
    # which is positive exactly for gamma above this break-point.
    d_tp = np.diff(hull.tp).astype(np.float64)
    d_fp = np.diff(hull.fp).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        breaks = (d_fp * (d + f) / d_tp + f) / (clv - d)
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
    profit = tp * (clv - d) * first_moment - (tp * f + fp * (d + f)) * prob
    rate = (tp + fp) / n * prob
    return EmpcResult(profit=float(profit.sum() / n), rate=float(rate.sum()))


def mpc(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    economics: RetentionEconomics = DEFAULT_ECONOMICS,
) -> MpcResult:
    """Best campaign at a fixed accept rate: MPC, its fraction and its cut-off.

    ``MPC = max_T pi0 F0(T) (gamma (clv - d) - f) - pi1 F1(T) (d + f)``; the
    fraction targeted there is ``pi0 F0 + pi1 F1``. Ties in profit go to the
    campaign contacting fewer customers.

    Args:
        y_true: Churn labels, 1 = churner.
        y_score: Scores, higher = more likely to churn.
        economics: CLV, costs and the accept rate ``gamma`` (``alpha`` and
            ``beta`` are not used).

    Returns:
        The maximum profit per customer (0 when contacting no one is best), the
        fraction of the customer base to target, and the lowest score targeted
        (``math.inf`` when contacting no one is best, so ``score >= threshold``
        selects nobody whatever the score scale).

    """
    hull = roc_convex_hull(*check_inputs(y_true, y_score))
    n = hull.n_pos + hull.n_neg
    totals = _profit_totals(hull.tp, hull.fp, economics)
    best = float(totals.max())
    # Among campaigns equal up to rounding, contact the fewest customers.
    tol = 1e-12 * max(1.0, abs(best), float(np.abs(totals).max()))
    k = int(np.flatnonzero(totals >= best - tol)[0])
    return MpcResult(
        profit=float(totals[k] / n),
        rate=float((hull.tp[k] + hull.fp[k]) / n),
        threshold=float(hull.thresholds[k]),
    )


# --------------------------------------------------------------------------- #
# Realised profit
# --------------------------------------------------------------------------- #


def profit_curve(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    economics: RetentionEconomics = DEFAULT_ECONOMICS,
) -> tuple[FloatArray, FloatArray]:
    """Campaign profit per customer at every cut-off, for plotting.

    ``P = (TP (gamma (clv - d) - f) - FP (d + f)) / n`` at each distinct score,
    from targeting no one ``(0, 0)`` to everyone. Its maximum is MPC (:func:`mpc`).
    A single-class ``y_true`` is allowed: the profit is still well defined.

    Args:
        y_true: Churn labels, 1 = churner.
        y_score: Scores, higher = more likely to churn.
        economics: CLV, costs and the accept rate ``gamma``.

    Returns:
        ``(fraction_targeted, profit_per_customer)``.

    """
    roc = roc_points(*check_inputs(y_true, y_score, both_classes=False))
    n = roc.n_pos + roc.n_neg
    totals = _profit_totals(roc.tp, roc.fp, economics)
    return (roc.tp + roc.fp) / n, totals / n


def campaign_profit(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    threshold: float,
    economics: RetentionEconomics = DEFAULT_ECONOMICS,
) -> float:
    """Profit per customer of contacting every account with ``score >= threshold``.

    ``P = (TP (gamma (clv - d) - f) - FP (d + f)) / n``. A single-class ``y_true``
    is allowed.

    Args:
        y_true: Churn labels, 1 = churner.
        y_score: Scores, higher = more likely to churn.
        threshold: Score cut-off; ``math.inf`` targets no one.
        economics: CLV, costs and the accept rate ``gamma``.

    Returns:
        Profit per customer.

    """
    if isinstance(threshold, bool) or not isinstance(threshold, Real):
        raise TypeError(f"threshold must be a real number, got {threshold!r}")
    if math.isnan(threshold):
        raise ValueError("threshold must not be NaN")
    y, s = check_inputs(y_true, y_score, both_classes=False)
    targeted = s >= threshold
    tp = np.asarray(y[targeted].sum(), dtype=np.int64)
    fp = np.asarray(targeted.sum() - tp, dtype=np.int64)
    total = _profit_totals(tp, fp, economics)
    return float(total / y.shape[0])
