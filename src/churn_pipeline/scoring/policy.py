"""The contact policy: how churn probabilities become risk bands and contacts.

:class:`ScoringPolicy` is stored with each registered model. Contacting an account
pays on average when its expected contact profit (:func:`expected_contact_profit`)
is positive, i.e. from the break-even probability
(:func:`cost_sensitive_threshold`) for a fixed CLV.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from churn_pipeline.evaluation.checks import FloatArray, float_array
from churn_pipeline.evaluation.economics import DEFAULT_ECONOMICS, RetentionEconomics
from churn_pipeline.models.columns import Columns, column_values
from churn_pipeline.scoring.playbook import Playbook
from churn_pipeline.scoring.value import account_clv, expected_lifetime_months

RISK_BANDS = ("green", "yellow", "red")
# How the CLV of an account is valued: one fixed CLV for everyone, or MRR x gross
# margin x expected lifetime per account (churn_pipeline.scoring.value).
CLV_BASES = ("fixed", "per_account")
MRR_COLUMN = "mrr"


# --------------------------------------------------------------------------- #
# Per-account decision
# --------------------------------------------------------------------------- #


def cost_sensitive_threshold(
    economics: RetentionEconomics = DEFAULT_ECONOMICS,
) -> float:
    """Calibrated churn probability above which contacting an account pays.

    ``p* = (d + f) / (gamma (clv - d) + d)``, the root of
    :func:`expected_contact_profit`. A value above 1 means no account is worth
    contacting at these costs.

    Args:
        economics: CLV, incentive ``d``, contact cost ``f`` and accept rate
            ``gamma``.

    Returns:
        The break-even probability ``p*``.

    """
    d, f = economics.incentive_cost, economics.contact_cost
    return (d + f) / (economics.accept_rate * (economics.clv - d) + d)


def _contact_profit(
    probability: FloatArray, clv: FloatArray, economics: RetentionEconomics
) -> FloatArray:
    # The formula alone: also meaningful (never positive) where clv <= d.
    d = economics.incentive_cost
    return (
        probability * economics.accept_rate * (clv - d)
        - (1.0 - probability) * d
        - economics.contact_cost
    )


def expected_contact_profit(
    probability: npt.ArrayLike,
    economics: RetentionEconomics = DEFAULT_ECONOMICS,
    *,
    clv: npt.ArrayLike | None = None,
) -> float | FloatArray:
    """Compute the expected profit of contacting each account, given its p(churn).

    ``E = p gamma (clv - d) - (1 - p) d - f``: a churner who accepts is kept for
    ``clv - d``; a non-churner takes the offer anyway and costs ``d``; everyone
    costs ``f``. ``E >= 0`` exactly when ``p >= p*`` (:func:`cost_sensitive_threshold`).

    Args:
        probability: Calibrated churn probabilities in [0, 1] (scalar or array).
        economics: CLV, incentive ``d``, contact cost ``f`` and accept rate
            ``gamma``.
        clv: One CLV per account (broadcast with ``probability``), each
            > ``d``, instead of ``economics.clv``.

    Returns:
        A float for scalar inputs, otherwise an array of expected profits.

    """
    p = float_array("probability", probability)
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("probability must be finite and within [0, 1]")
    clv_arr = float_array("clv", economics.clv if clv is None else clv)
    if not np.all(np.isfinite(clv_arr)):
        raise ValueError("clv must be finite")
    d = economics.incentive_cost
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
    profit = _contact_profit(p, clv_arr, economics)
    if profit.ndim == 0:
        return float(profit)
    return profit


# --------------------------------------------------------------------------- #
# The policy
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ScoringPolicy:
    """How probabilities become actions; stored with each registered model.

    Attributes:
        yellow_from: Probability at which an account is at risk (yellow).
        red_from: Probability at which an account is critical (red).
        contact_threshold: Probability from which contacting pays on average at
            the fixed ``clv``; decides ``contact`` only when ``clv_basis`` is
            ``"fixed"``.
        n_reasons: Number of risk-raising drivers reported per account.
        clv: Fixed customer lifetime value (the ``"fixed"`` basis).
        incentive_cost: Retention incentive offered to a contacted account.
        contact_cost: Cost of one contact.
        accept_rate: Expected share of contacted churners the offer retains.
        clv_basis: ``"fixed"`` (every account is worth ``clv``; contact from
            ``contact_threshold``) or ``"per_account"`` (CLV = MRR x
            ``gross_margin`` x ``lifetime_months``; contact when the account's
            expected contact profit is > 0). Policies stored before this field
            existed load as ``"fixed"``.
        gross_margin: Share of MRR kept as margin, in (0, 1].
        lifetime_months: Expected remaining lifetime in months; required by the
            ``"per_account"`` basis.
        playbook: Rule triggers and actions per driver; ``None`` (a customer
            table, or a policy stored before playbooks) scores without them.
    """

    yellow_from: float
    red_from: float
    contact_threshold: float
    n_reasons: int
    clv: float
    incentive_cost: float
    contact_cost: float
    accept_rate: float
    clv_basis: str = "fixed"
    gross_margin: float = 0.8
    lifetime_months: float | None = None
    playbook: Playbook | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.yellow_from < self.red_from < 1.0:
            raise ValueError(
                "Risk bands need 0 < yellow_from < red_from < 1, got "
                f"yellow_from={self.yellow_from}, red_from={self.red_from}"
            )
        if not 0.0 <= self.contact_threshold <= 1.0:
            raise ValueError(
                "contact_threshold is a probability and must be in [0, 1], got "
                f"{self.contact_threshold}"
            )
        if self.n_reasons < 1:
            raise ValueError(f"n_reasons must be >= 1, got {self.n_reasons}")
        if self.clv_basis not in CLV_BASES:
            raise ValueError(
                f"clv_basis must be one of {', '.join(map(repr, CLV_BASES))}, "
                f"got {self.clv_basis!r}"
            )
        if not 0.0 < self.gross_margin <= 1.0:
            raise ValueError(f"gross_margin must be in (0, 1], got {self.gross_margin}")
        if self.lifetime_months is None:
            if self.clv_basis == "per_account":
                raise ValueError(
                    "clv_basis 'per_account' needs lifetime_months (estimate it "
                    "with churn_pipeline.scoring.value.expected_lifetime_months)"
                )
        elif not 0.0 < self.lifetime_months < math.inf:
            raise ValueError(
                f"lifetime_months must be finite and > 0, got {self.lifetime_months}"
            )
        # Check the costs now rather than when the first account is scored.
        _ = self.economics

    @cached_property
    def economics(self) -> RetentionEconomics:
        """The policy's CLV, costs and accept rate (``alpha``/``beta`` unused)."""
        return RetentionEconomics(
            clv=self.clv,
            incentive_cost=self.incentive_cost,
            contact_cost=self.contact_cost,
            accept_rate=self.accept_rate,
        )

    @classmethod
    def from_params(
        cls,
        scoring: Mapping[str, Any],
        profit: Mapping[str, Any],
        *,
        lifetime_months: float | None = None,
    ) -> ScoringPolicy:
        """Build the policy from the ``scoring`` and ``profit`` parameters.

        The contact threshold is the cost-sensitive threshold at the expected
        accept rate ``alpha / (alpha + beta)`` unless ``scoring`` fixes one.
        ``scoring["value"]`` (``basis``, ``gross_margin``) chooses how accounts
        are valued; without it the basis is ``"fixed"``. ``scoring["playbook"]``,
        if set, gives the triggers and actions.

        Args:
            scoring: ``scoring`` parameters.
            profit: ``profit`` parameters.
            lifetime_months: Expected lifetime in months, required by the
                ``"per_account"`` basis (see :func:`lifetime_from_params`).

        Raises:
            ValueError: If the basis is ``"per_account"`` and ``lifetime_months``
                is missing, or it is combined with a fixed ``contact_threshold``.
        """
        value = scoring.get("value") or {}
        basis = str(value.get("basis", "fixed"))
        threshold = scoring.get("contact_threshold")
        if basis == "per_account":
            _check_per_account(threshold, lifetime_months)
        economics = RetentionEconomics.from_params(profit)
        economics = replace(economics, accept_rate=economics.expected_accept_rate)
        if threshold is None:
            threshold = cost_sensitive_threshold(economics)
        return cls(
            yellow_from=float(scoring["risk_bands"]["yellow_from"]),
            red_from=float(scoring["risk_bands"]["red_from"]),
            contact_threshold=float(threshold),
            n_reasons=int(scoring["n_reasons"]),
            clv=economics.clv,
            incentive_cost=economics.incentive_cost,
            contact_cost=economics.contact_cost,
            accept_rate=economics.accept_rate,
            clv_basis=basis,
            gross_margin=float(value.get("gross_margin", 0.8)),
            lifetime_months=(
                None if lifetime_months is None else float(lifetime_months)
            ),
            playbook=(
                Playbook.from_params(scoring["playbook"])
                if scoring.get("playbook")
                else None
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, for MLflow model metadata (see :meth:`from_dict`)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["playbook"] = None if self.playbook is None else self.playbook.to_dict()
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ScoringPolicy:
        """The policy :meth:`to_dict` stored; older dicts lack newer fields."""
        values = dict(values)
        playbook = values.pop("playbook", None)
        return cls(
            **values,
            playbook=None if playbook is None else Playbook.from_params(playbook),
        )


def _check_per_account(threshold: object, lifetime_months: float | None) -> None:
    """Refuse a per-account basis without a lifetime, or with a fixed threshold."""
    if lifetime_months is None:
        raise ValueError(
            "scoring.value.basis is 'per_account': pass lifetime_months, e.g. "
            "lifetime_from_params(scoring, labels) with the labelled snapshots"
        )
    if threshold is not None:
        raise ValueError(
            "scoring.contact_threshold applies to scoring.value.basis 'fixed' "
            "only; 'per_account' contacts when the expected profit is > 0. Set "
            "contact_threshold: null or basis: fixed"
        )


def lifetime_from_params(
    scoring: Mapping[str, Any], labels: np.ndarray | pd.Series
) -> float | None:
    """Expected lifetime for :meth:`ScoringPolicy.from_params`, or None.

    Args:
        scoring: ``scoring`` parameters; ``scoring["value"]`` gives the basis,
            ``horizon_days`` (the label window) and ``max_lifetime_months``.
        labels: 0/1 labels of labelled snapshots.

    Returns:
        :func:`~churn_pipeline.scoring.value.expected_lifetime_months` of ``labels`` for
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
        :func:`~churn_pipeline.scoring.value.expected_lifetime_months` of ``labels``.
    """
    return expected_lifetime_months(
        labels,
        horizon_days=int(value["horizon_days"]),
        max_months=float(value["max_lifetime_months"]),
    )


# --------------------------------------------------------------------------- #
# Applying the policy
# --------------------------------------------------------------------------- #


def risk_band(probability: np.ndarray, policy: ScoringPolicy) -> np.ndarray:
    """Green below ``yellow_from``, red from ``red_from``, yellow between."""
    index = np.searchsorted(
        [policy.yellow_from, policy.red_from], probability, side="right"
    )
    return np.asarray(RISK_BANDS, dtype=object)[index]


def value_and_contact(
    probability: np.ndarray, features: Columns, policy: ScoringPolicy
) -> tuple[FloatArray, FloatArray, np.ndarray]:
    """Each account's CLV, expected contact profit and contact decision.

    With the ``"fixed"`` basis every account is worth ``policy.clv`` and is
    contacted from ``policy.contact_threshold``. With ``"per_account"`` its CLV
    comes from the ``mrr`` column and it is contacted when its expected profit is
    > 0; an account worth no more than the incentive gets the same formula, which
    is then never positive.

    Args:
        probability: Churn probability per account.
        features: ``account_id`` and, for ``"per_account"``, ``mrr``.
        policy: The scoring policy.

    Returns:
        ``(clv, expected_contact_profit, contact)``, one value per account.
    """
    economics = policy.economics
    if policy.clv_basis == "fixed":
        profit = np.asarray(expected_contact_profit(probability, economics), float)
        clv = np.full(len(probability), policy.clv, dtype=float)
        return clv, profit, probability >= policy.contact_threshold
    clv = account_clv(
        pd.Series(
            column_values(features, MRR_COLUMN),
            index=column_values(features, "account_id"),
        ),
        gross_margin=policy.gross_margin,
        lifetime_months=policy.lifetime_months or 0.0,  # set: __post_init__
    )
    profit = _contact_profit(probability, clv, economics)
    return clv, profit, profit > 0
