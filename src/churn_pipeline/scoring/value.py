"""Per-account customer lifetime value (CLV) from MRR and an expected lifetime.

The estimate is deliberately simple and stated in full:

* **Lifetime.** Every account is assumed to face the same constant monthly churn
  hazard ``h`` (no dependence on tenure, plan or health), so its remaining
  lifetime in months is geometric with mean ``1 / h``. ``h`` comes from the
  labelled snapshots: the share ``p`` that churned within ``horizon_days`` is
  converted to a 30.4375-day month as ``h = 1 - (1 - p) ** (30.4375 / horizon_days)``.
  The lifetime is capped at ``max_months``: with little observed churn ``1 / h``
  grows without bound, and value far in the future is uncertain (and would be
  discounted). No churn observed gives the cap.
* **Value.** ``CLV = MRR x gross margin x lifetime``: the margin a retained
  account is expected to bring over its remaining lifetime at today's MRR, without
  discounting, expansion or contraction.

The churn model's own probability is not used here: CLV is the value at stake if
the account stays, and the model supplies the chance that it leaves.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

logger = logging.getLogger(__name__)

DAYS_PER_MONTH = 30.4375  # 365.25 / 12
# How far the accounts' mean CLV may stray from profit.clv (the typical account
# EMPC values everyone at) before the run warns that the two disagree.
TYPICAL_CLV_FACTOR = 2.0
_N_EXAMPLES = 5


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _examples(values: pd.Series, bad: np.ndarray) -> str:
    """``label: value`` of the first few offending entries."""
    shown = values[bad].head(_N_EXAMPLES)
    return ", ".join(f"{label}: {value!r}" for label, value in shown.items())


def expected_lifetime_months(
    labels: npt.ArrayLike | pd.Series, *, horizon_days: int, max_months: float
) -> float:
    """Expected remaining lifetime in months under a constant churn hazard.

    Args:
        labels: One 0/1 label per labelled snapshot (1 = churned within
            ``horizon_days``); booleans and floats 0.0/1.0 are accepted.
        horizon_days: Length of the label window in days.
        max_months: Cap on the lifetime (also the answer when nobody churned).

    Returns:
        ``min(1 / h, max_months)`` with the monthly churn rate
        ``h = 1 - (1 - p) ** (30.4375 / horizon_days)`` and ``p`` the share of
        labels equal to 1.

    Raises:
        ValueError: If ``labels`` is empty or holds anything but 0 and 1 (NaN
            included), or ``horizon_days`` / ``max_months`` is not > 0.
    """
    if isinstance(horizon_days, bool) or not horizon_days > 0:
        raise ValueError(f"horizon_days must be > 0, got {horizon_days!r}")
    cap = _positive("max_months", max_months)
    series = pd.Series(labels).reset_index(drop=True)
    if series.empty:
        raise ValueError("labels is empty: the lifetime needs labelled snapshots")
    if series.dtype == np.bool_:
        series = series.astype(np.int64)
    if not pd.api.types.is_numeric_dtype(series.dtype):
        raise ValueError(f"labels must be numeric 0/1, got dtype {series.dtype}")
    values = series.to_numpy(dtype=np.float64)
    bad = (values != 0) & (values != 1)  # NaN included
    if bad.any():
        raise ValueError(
            f"labels must be 0 or 1; {int(bad.sum())} of {len(series)} are not "
            f"(position: value, e.g. {_examples(series, bad)})"
        )
    p = float(values.mean())
    if p == 0.0:
        return cap
    monthly = 1.0 - (1.0 - p) ** (DAYS_PER_MONTH / horizon_days)
    return min(1.0 / monthly, cap)


def account_clv(
    mrr: npt.ArrayLike | pd.Series, *, gross_margin: float, lifetime_months: float
) -> np.ndarray:
    """CLV per account: ``mrr x gross_margin x lifetime_months``.

    Args:
        mrr: Monthly recurring revenue per account. A Series names offending
            accounts by its index in errors, anything else by position.
        gross_margin: Share of revenue kept as margin, in (0, 1].
        lifetime_months: Expected remaining lifetime
            (:func:`expected_lifetime_months`), > 0.

    Returns:
        A float array, one CLV per account, in the input's order.

    Raises:
        ValueError: If any MRR is negative, NaN, infinite or not numeric, or
            ``gross_margin`` / ``lifetime_months`` is out of range.
    """
    if (
        isinstance(gross_margin, bool)
        or not math.isfinite(gross_margin)
        or not 0.0 < gross_margin <= 1.0
    ):
        raise ValueError(f"gross_margin must be in (0, 1], got {gross_margin!r}")
    lifetime = _positive("lifetime_months", lifetime_months)
    series = mrr if isinstance(mrr, pd.Series) else pd.Series(np.asarray(mrr))
    if series.dtype == np.bool_ or not pd.api.types.is_numeric_dtype(series.dtype):
        raise ValueError(f"mrr must be numeric, got dtype {series.dtype}")
    values = series.to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise ValueError(
            f"mrr must be finite and >= 0; {int(bad.sum())} of {len(values)} "
            f"accounts are not (e.g. {_examples(series, bad)})"
        )
    return values * gross_margin * lifetime


def contact_profit(
    probability: npt.ArrayLike,
    clv: npt.ArrayLike,
    incentive: npt.ArrayLike,
    *,
    accept_rate: float,
    contact_cost: float,
) -> np.ndarray:
    """Expected profit of contacting each account, the formula alone.

    ``E = p gamma (clv - d) - (1 - p) d - f``: a churner who accepts the offer
    is kept for ``clv - d``; a non-churner takes it anyway and costs ``d``;
    every contact costs ``f``. Never positive where ``clv <= d``. Inputs are
    broadcast; checks are the callers'.

    Args:
        probability: Calibrated churn probability ``p`` per account.
        clv: CLV per account (or one for all).
        incentive: Incentive ``d`` per account (or one for all).
        accept_rate: Share ``gamma`` of contacted churners the offer keeps.
        contact_cost: Cost ``f`` of one contact.

    Returns:
        The expected profit per account, in the currency of ``clv``.
    """
    p = np.asarray(probability, dtype=float)
    d = np.asarray(incentive, dtype=float)
    return (
        p * accept_rate * (np.asarray(clv, dtype=float) - d)
        - (1.0 - p) * d
        - (contact_cost)
    )


def lifetime_from_params(
    scoring: Mapping[str, Any], labels: np.ndarray | pd.Series
) -> float | None:
    """Expected lifetime for ``ScoringPolicy.from_params``, or None.

    Args:
        scoring: ``scoring`` parameters; ``scoring["value"]`` gives the basis,
            ``horizon_days`` (the label window) and ``max_lifetime_months``.
        labels: 0/1 labels of labelled snapshots.

    Returns:
        :func:`expected_lifetime_months` of ``labels`` for
        the ``"per_account"`` basis; None for ``"fixed"`` (no lifetime needed).
    """
    value = scoring.get("value") or {}
    if value.get("basis", "fixed") != "per_account":
        return None
    return lifetime_of(value, labels)


def lifetime_of(value: Mapping[str, Any], labels: np.ndarray | pd.Series) -> float:
    """Expected lifetime in months from a ``scoring.value`` block, any basis.

    Args:
        value: ``scoring.value`` parameters (``horizon_days``,
            ``max_lifetime_months``).
        labels: 0/1 labels of labelled snapshots.

    Returns:
        :func:`expected_lifetime_months` of ``labels``.
    """
    return expected_lifetime_months(
        labels,
        horizon_days=int(value["horizon_days"]),
        max_months=float(value["max_lifetime_months"]),
    )


def check_typical_clv(clv: npt.ArrayLike, typical: float) -> float:
    """Warn when the accounts' mean CLV is far from the configured typical CLV.

    EMPC (model selection) values every account at ``profit.clv``; the scored
    list values each at MRR x margin x lifetime. Both describe one business
    only while ``profit.clv`` is close to the accounts' mean CLV.

    Args:
        clv: CLV per scored account.
        typical: ``profit.clv``.

    Returns:
        The mean CLV (NaN without accounts).
    """
    values = np.asarray(clv, dtype=float)
    mean = float(values.mean()) if values.size else math.nan
    ratio = mean / typical if typical > 0 else math.inf
    if values.size and not 1 / TYPICAL_CLV_FACTOR <= ratio <= TYPICAL_CLV_FACTOR:
        logger.warning(
            "profit.clv is %s but the %d scored accounts are worth %s on average "
            "(MRR x margin x lifetime, %.1fx): EMPC and the contact decisions "
            "describe different businesses. Set profit.clv near %s and scale "
            "incentive_cost and contact_cost with it (docs/model.md).",
            f"{typical:,.0f}",
            values.size,
            f"{mean:,.0f}",
            ratio,
            f"{mean:,.0f}",
        )
    return mean
