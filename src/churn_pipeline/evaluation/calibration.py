"""Calibration of churn probabilities: the expected calibration error (ECE)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from churn_pipeline.evaluation.checks import check_inputs, check_unit_interval

__all__ = ["expected_calibration_error"]

_ECE_STRATEGIES = ("uniform", "quantile")


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
    y, p = check_inputs(y_true, y_prob, score_name="y_prob", both_classes=False)
    check_unit_interval("y_prob", p)

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
