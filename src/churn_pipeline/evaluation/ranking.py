"""Ranking metrics: ROC points and their convex hull, lift, cumulative gains.

Churn is the positive class (``y_true == 1``) and higher scores mean more likely
to churn. Tied scores are always targeted together, so no result depends on the
order of the input.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from churn_pipeline.evaluation.checks import (
    FloatArray,
    IntArray,
    check_inputs,
    real_number,
)

__all__ = [
    "RocPoints",
    "cumulative_gains",
    "lift_score",
    "roc_convex_hull",
    "roc_points",
]


class RocPoints(NamedTuple):
    """Cumulative counts when targeting every score >= threshold, best first.

    Row 0 is "target no one" (threshold +inf); tied scores form one point, so the
    result does not depend on the order of the input.
    """

    tp: IntArray
    fp: IntArray
    thresholds: FloatArray
    n_pos: int
    n_neg: int


def roc_points(y: IntArray, s: FloatArray) -> RocPoints:
    """ROC points of checked labels and scores (see :func:`check_inputs`)."""
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    # Last index of each run of tied scores: only there is the cut-off well defined.
    ends = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])
    tp = np.cumsum(y[order])[ends]
    fp = ends + 1 - tp
    n_pos = int(y.sum())
    return RocPoints(
        tp=np.r_[0, tp].astype(np.int64),
        fp=np.r_[0, fp].astype(np.int64),
        thresholds=np.r_[np.inf, s_sorted[ends]],
        n_pos=n_pos,
        n_neg=int(y.shape[0] - n_pos),
    )


def roc_convex_hull(y: IntArray, s: FloatArray) -> RocPoints:
    """Upper ROC convex hull from (0, 0) to (1, 1), collinear points dropped.

    Works on integer counts, so the turn test is exact. Tied scores are one ROC
    point (a diagonal step), never split. Any profit that rewards true positives
    and penalises false positives is maximised at one of these vertices.
    """
    roc = roc_points(y, s)
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
    return RocPoints(
        tp=roc.tp[idx],
        fp=roc.fp[idx],
        thresholds=roc.thresholds[idx],
        n_pos=roc.n_pos,
        n_neg=roc.n_neg,
    )


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
    frac = real_number("fraction", fraction)
    if not 0 < frac <= 1:
        raise ValueError(f"fraction must satisfy 0 < fraction <= 1, got {frac!r}")
    y, s = check_inputs(y_true, y_score)
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
    y, s = check_inputs(y_true, y_score)
    roc = roc_points(y, s)
    n = roc.n_pos + roc.n_neg
    return (roc.tp + roc.fp) / n, roc.tp / roc.n_pos
