"""Input checks shared by the metrics, the contact policy and the plots.

Each check names the argument, the rule and what it got, and returns the value
converted (a float, or a float64 / int64 array) so callers compute on one type.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def real_number(name: str, value: object) -> float:
    """``value`` as a finite float; ``name`` is the argument named in errors."""
    # bool is a numbers.Real subclass, but True as a cost is almost surely a bug.
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return result


def nonnegative(name: str, value: object) -> float:
    """``value`` as a finite float >= 0."""
    result = real_number(name, value)
    if result < 0:
        raise ValueError(f"{name} must be >= 0, got {result!r}")
    return result


def float_array(name: str, values: npt.ArrayLike) -> FloatArray:
    """``values`` as a float64 array of any shape; bool, text and complex refused."""
    array = np.asarray(values)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    if np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real-valued, got dtype {array.dtype}")
    return array.astype(np.float64)


def check_unit_interval(name: str, values: FloatArray) -> None:
    """Refuse a probability outside [0, 1]."""
    if np.any((values < 0) | (values > 1)):
        raise ValueError(f"{name} must be within [0, 1]")


def _check_1d(name: str, values: npt.ArrayLike) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} must not be empty")
    return array


def _check_labels(y_true: npt.ArrayLike) -> IntArray:
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
    s = float_array(name, _check_1d(name, y_score))
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return s


def check_inputs(
    y_true: npt.ArrayLike,
    y_score: npt.ArrayLike,
    *,
    score_name: str = "y_score",
    both_classes: bool = True,
) -> tuple[IntArray, FloatArray]:
    """Check labels and scores of one scorer: 1-D, same length, finite.

    Args:
        y_true: Churn labels, 0/1 or bool.
        y_score: Scores, one per label.
        score_name: How errors call ``y_score``.
        both_classes: Refuse labels of one class only (ranking metrics need both).

    Returns:
        ``(labels as int64, scores as float64)``.
    """
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
