"""Member weights and Platt calibration from one non-negative logistic fit."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit


def fit_blend(
    member_logits: Mapping[str, np.ndarray],
    y: np.ndarray,
    sample_weight: np.ndarray | None = None,
) -> tuple[dict[str, float], float, float]:
    """Weights, Platt slope and intercept from one non-negative logistic fit.

    ``P(churn) = expit(a + sum_i b_i z_i)`` with ``b_i >= 0`` fitted by maximum
    likelihood on the members' log-odds ``z_i``: weights are ``b / sum(b)``, the
    slope ``sum(b)``. Non-negative weights keep every member's monotone
    guarantees in the blend and cannot overfit like free stacking.

    ``sample_weight`` weighs each row's log-likelihood: with subsampled
    non-churners weighted by their inverse share, the fit estimates the full
    slice's, so the calibration stays honest.
    """
    names = list(member_logits)
    logits = np.column_stack([member_logits[name] for name in names])
    y = np.asarray(y, dtype=float)
    # Scaled to mean one: the optimiser's tolerances then mean what they did.
    weight = (
        np.ones(len(y))
        if sample_weight is None
        else np.asarray(sample_weight, dtype=float) / np.mean(sample_weight)
    )

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        margin = theta[0] + logits @ theta[1:]
        value = -np.sum(weight * (y * log_expit(margin) + (1 - y) * log_expit(-margin)))
        residual = weight * (expit(margin) - y)
        return float(value), np.concatenate([[residual.sum()], logits.T @ residual])

    rate = np.clip(np.average(y, weights=weight), 1e-6, 1 - 1e-6)
    start = np.concatenate([[np.log(rate / (1 - rate))], np.full(len(names), 0.1)])
    bounds = [(None, None)] + [(0.0, None)] * len(names)
    fitted = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    coefficients = np.maximum(fitted.x[1:], 0.0)
    slope = float(coefficients.sum())
    if slope <= 0.0:
        # No member ranks better than chance here: equal weights, flat scores.
        weights = dict.fromkeys(names, 1.0 / len(names))
    else:
        weights = {
            n: float(c / slope) for n, c in zip(names, coefficients, strict=True)
        }
    return weights, slope, float(fitted.x[0])
