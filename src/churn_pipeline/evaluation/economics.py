"""What a retention campaign earns and costs, checked once.

The profit metrics (:mod:`churn_pipeline.evaluation.profit`) and the contact policy
(:mod:`churn_pipeline.scoring.policy`) take one :class:`RetentionEconomics` rather
than restating and re-checking the same cost arguments each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from churn_pipeline.evaluation.checks import nonnegative, real_number

__all__ = ["DEFAULT_ECONOMICS", "RetentionEconomics"]


@dataclass(frozen=True)
class RetentionEconomics:
    """Costs and value of a retention campaign (Verbraken et al. 2013).

    A contacted churner accepts the offer with probability ``gamma`` and is then
    worth ``clv - incentive_cost``; every contact costs ``contact_cost``; a
    contacted non-churner also takes the incentive. Field names match the keys of
    the ``profit`` parameters. Values are stored as floats.

    Attributes:
        clv: Customer lifetime value, > ``incentive_cost``.
        incentive_cost: Cost ``d`` of the retention offer, >= 0.
        contact_cost: Cost ``f`` of contacting one customer, >= 0.
        accept_rate: Probability ``gamma`` that a contacted churner stays, in
            (0, 1]; used by MPC and the per-account contact decision.
        alpha: First shape parameter of the Beta prior on ``gamma``, > 0 (EMPC).
        beta: Second shape parameter of the Beta prior on ``gamma``, > 0 (EMPC).

    Raises:
        TypeError: If a field is not a real number (bools are refused).
        ValueError: If a field is not finite or outside its bound.
    """

    clv: float = 200.0
    incentive_cost: float = 10.0
    contact_cost: float = 1.0
    accept_rate: float = 0.3
    alpha: float = 6.0
    beta: float = 14.0

    def __post_init__(self) -> None:
        clv = real_number("clv", self.clv)
        incentive = nonnegative("incentive_cost", self.incentive_cost)
        contact = nonnegative("contact_cost", self.contact_cost)
        if not clv > incentive:
            raise ValueError(
                "clv must be greater than incentive_cost (clv > incentive_cost >= 0), "
                f"got clv={clv!r} and incentive_cost={incentive!r}"
            )
        gamma = real_number("accept_rate", self.accept_rate)
        if not 0 < gamma <= 1:
            raise ValueError(
                f"accept_rate must satisfy 0 < accept_rate <= 1, got {gamma!r}"
            )
        alpha = real_number("alpha", self.alpha)
        beta = real_number("beta", self.beta)
        for name, value in (("alpha", alpha), ("beta", beta)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value!r}")
        checked = (clv, incentive, contact, gamma, alpha, beta)
        for field, value in zip(fields(self), checked, strict=True):
            # Frozen: store the checked floats once, here.
            object.__setattr__(self, field.name, value)

    @classmethod
    def from_params(cls, profit: Mapping[str, Any]) -> RetentionEconomics:
        """Build from the ``profit`` parameters (keys named like the fields).

        Raises:
            KeyError: If a key is missing; the message lists the keys needed.
        """
        names = [field.name for field in fields(cls)]
        missing = [name for name in names if name not in profit]
        if missing:
            raise KeyError(f"profit parameters lack {missing}; needed: {names}")
        return cls(**{name: profit[name] for name in names})

    @property
    def expected_accept_rate(self) -> float:
        """Mean of the Beta prior on the accept rate, ``alpha / (alpha + beta)``."""
        return self.alpha / (self.alpha + self.beta)


DEFAULT_ECONOMICS = RetentionEconomics()
