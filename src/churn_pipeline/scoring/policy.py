"""The contact policy: how churn probabilities become risk bands and contacts.

:class:`ScoringPolicy` is stored with each registered model. Contacting an account
pays on average when its expected contact profit (:func:`expected_contact_profit`)
is positive, i.e. from the break-even probability
(:func:`cost_sensitive_threshold`) for a fixed CLV.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from churn_pipeline.evaluation.checks import FloatArray, float_array
from churn_pipeline.evaluation.economics import DEFAULT_ECONOMICS, RetentionEconomics
from churn_pipeline.features.specs import DEFAULT_CONTEXT_DRIVERS
from churn_pipeline.scoring.context import (
    DEFAULT_UNTARGETED_ACTION_BANDS,
    context_mapping,
)
from churn_pipeline.scoring.playbook import Playbook
from churn_pipeline.scoring.value import (
    contact_profit,
    lifetime_from_params,
    lifetime_of,
)

__all__ = [
    "CLV_BASES",
    "INCENTIVE_BASES",
    "MRR_COLUMN",
    "RISK_BANDS",
    "ScoringPolicy",
    "cost_sensitive_threshold",
    "expected_contact_profit",
    # Defined in churn_pipeline.scoring.value; imported from here by callers.
    "lifetime_from_params",
    "lifetime_of",
    "risk_band",
]

RISK_BANDS = ("green", "yellow", "red")
# How the CLV of an account is valued: one fixed CLV for everyone, or MRR x gross
# margin x expected lifetime per account (churn_pipeline.scoring.value).
CLV_BASES = ("fixed", "per_account")
# The per-account incentive: the same for every account, or incentive_cost scaled
# by the account's CLV / the typical account's (profit.clv).
INCENTIVE_BASES = ("fixed", "proportional")
MRR_COLUMN = "mrr"
_CURRENCY = re.compile(r"^[A-Z]{3}$")  # an ISO 4217 code, e.g. USD, EUR


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
    profit = contact_profit(
        p,
        clv_arr,
        d,
        accept_rate=economics.accept_rate,
        contact_cost=economics.contact_cost,
    )
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
        context_drivers: Drivers that are never reasons nor pick an action
            (who the customer is); policies stored before it use the default.
        incentive_basis: ``"fixed"`` (every contacted account costs
            ``incentive_cost``) or ``"proportional"`` (per-account basis only:
            ``incentive_cost x account CLV / clv``, the offer scales with what
            the account pays). Policies stored before it load as ``"fixed"``.
        currency: ISO 4217 code of every amount (MRR, CLV, costs, profit);
            ``None`` (policies stored before it): not stated.
        account_context: List field -> feature column of the context the list
            and the API carry (:mod:`churn_pipeline.scoring.context`).
        untargeted_action_bands: Bands whose accounts keep their driver's
            action when not worth contacting; the others get the default.
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
    # A list, as stored in (and read back from) the model's YAML metadata.
    context_drivers: list[str] = field(
        default_factory=lambda: list(DEFAULT_CONTEXT_DRIVERS)
    )
    incentive_basis: str = "fixed"
    currency: str | None = None
    account_context: dict[str, str | None] = field(
        default_factory=lambda: context_mapping(None)
    )
    untargeted_action_bands: list[str] = field(
        default_factory=lambda: list(DEFAULT_UNTARGETED_ACTION_BANDS)
    )

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
        self._check_list_fields()
        # Check the costs now rather than when the first account is scored.
        _ = self.economics

    def _check_list_fields(self) -> None:
        """Check the incentive basis, currency, context and action bands."""
        if self.incentive_basis not in INCENTIVE_BASES:
            raise ValueError(
                f"incentive_basis must be one of {list(INCENTIVE_BASES)}, got "
                f"{self.incentive_basis!r}"
            )
        if self.currency is not None and not _CURRENCY.match(str(self.currency)):
            raise ValueError(
                "currency must be a 3-letter ISO 4217 code such as USD or EUR, "
                f"got {self.currency!r}"
            )
        unknown = sorted(set(self.untargeted_action_bands) - set(RISK_BANDS))
        if unknown:
            raise ValueError(
                f"untargeted_action_bands must be among {list(RISK_BANDS)}, got "
                f"unknown {unknown}"
            )
        # Frozen: store the completed mapping (stored policies may lack fields).
        object.__setattr__(
            self, "account_context", context_mapping(self.account_context)
        )

    @property
    def mrr_column(self) -> str:
        """The feature column the ``"per_account"`` basis reads MRR from."""
        return self.account_context.get("mrr") or MRR_COLUMN

    def incentive(self, clv: FloatArray) -> FloatArray:
        """The incentive per account: fixed, or scaled by its CLV."""
        if self.incentive_basis == "proportional":
            return self.incentive_cost * np.asarray(clv, dtype=float) / self.clv
        return np.full(np.shape(clv), self.incentive_cost, dtype=float)

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
            context_drivers=list(
                scoring.get("context_drivers", DEFAULT_CONTEXT_DRIVERS)
            ),
            **_list_fields(scoring),
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


def _list_fields(scoring: Mapping[str, Any]) -> dict[str, Any]:
    """The policy fields about the list: incentive basis, currency, context."""
    value = scoring.get("value") or {}
    return {
        "incentive_basis": str(value.get("incentive", "fixed")),
        "currency": scoring.get("currency"),
        "account_context": context_mapping(scoring.get("account_context")),
        "untargeted_action_bands": list(
            scoring.get("untargeted_action_bands", DEFAULT_UNTARGETED_ACTION_BANDS)
        ),
    }


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


# --------------------------------------------------------------------------- #
# Applying the policy
# --------------------------------------------------------------------------- #


def risk_band(probability: np.ndarray, policy: ScoringPolicy) -> np.ndarray:
    """Green below ``yellow_from``, red from ``red_from``, yellow between."""
    index = np.searchsorted(
        [policy.yellow_from, policy.red_from], probability, side="right"
    )
    return np.asarray(RISK_BANDS, dtype=object)[index]
