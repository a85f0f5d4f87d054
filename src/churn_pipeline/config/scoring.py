"""Parameter models of campaign economics, scoring and reporting."""

from __future__ import annotations

import datetime as dt
from itertools import pairwise
from typing import Annotated

from pydantic import Field, model_validator

from churn_pipeline.config.base import (
    Block,
    NonEmptyStr,
    NonNegativeInt,
    PositiveInt,
    Probability,
    one_of,
)
from churn_pipeline.features.specs import DEFAULT_CONTEXT_DRIVERS
from churn_pipeline.scoring.context import (
    DEFAULT_ACCOUNT_CONTEXT,
    DEFAULT_UNTARGETED_ACTION_BANDS,
)
from churn_pipeline.scoring.playbook import Playbook
from churn_pipeline.scoring.policy import CLV_BASES, INCENTIVE_BASES, RISK_BANDS

PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]


class ProfitParameters(Block):
    """``profit`` in ``conf/*/parameters.yml``: campaign economics (EMPC/MPC)."""

    clv: PositiveFloat
    incentive_cost: NonNegativeFloat
    contact_cost: NonNegativeFloat
    # Beta(alpha, beta) distribution of the accept rate, for EMPC.
    alpha: PositiveFloat
    beta: PositiveFloat
    accept_rate: Probability


class RiskBands(Block):
    """Calibrated probability cut-offs of the health bands."""

    yellow_from: Probability
    red_from: Probability

    @model_validator(mode="after")
    def _ordered(self) -> RiskBands:
        if not 0.0 < self.yellow_from < self.red_from < 1.0:
            raise ValueError(
                "needs 0 < yellow_from < red_from < 1, got "
                f"yellow_from={self.yellow_from}, red_from={self.red_from}"
            )
        return self


class ValueParameters(Block):
    """``scoring.value``: what an account is worth if it stays."""

    basis: Annotated[str, one_of(CLV_BASES)] = "fixed"
    gross_margin: float = Field(default=0.8, gt=0.0, le=1.0)
    # per_account: the incentive per account, fixed or scaled by its CLV.
    incentive: Annotated[str, one_of(INCENTIVE_BASES)] = "fixed"
    max_lifetime_months: PositiveFloat
    horizon_days: PositiveInt


_CONTEXT = DEFAULT_ACCOUNT_CONTEXT
ColumnName = NonEmptyStr | None


class AccountContext(Block):
    """``scoring.account_context``: list field -> feature column (null: none)."""

    account_owner: ColumnName = _CONTEXT["account_owner"]
    plan: ColumnName = _CONTEXT["plan"]
    mrr: ColumnName = _CONTEXT["mrr"]
    seats: ColumnName = _CONTEXT["seats"]
    tenure_months: ColumnName = _CONTEXT["tenure_months"]


class TriggerSpec(Block):
    """A playbook rule: shown when all ``when`` conditions hold."""

    text: NonEmptyStr
    when: list[str] = Field(min_length=1)


class ActionSpec(Block):
    """What to do and who does it."""

    action: NonEmptyStr
    owner: NonEmptyStr


class PlaybookParameters(Block):
    """``scoring.playbook``; its rules are checked by building the playbook."""

    triggers: dict[NonEmptyStr, TriggerSpec] = Field(default_factory=dict)
    actions: dict[NonEmptyStr, ActionSpec]
    default_action: ActionSpec

    @model_validator(mode="after")
    def _builds(self) -> PlaybookParameters:
        Playbook.from_params(self.model_dump())
        return self


class ScoringParameters(Block):
    """``conf/*/parameters_scoring.yml``: bands, contact rule, reasons, playbook."""

    as_of: dt.date | None = None
    risk_bands: RiskBands
    contact_threshold: Probability | None = None
    n_reasons: PositiveInt
    # Drivers that are never reasons nor pick an action (who the customer is).
    context_drivers: list[NonEmptyStr] = Field(
        default_factory=lambda: list(DEFAULT_CONTEXT_DRIVERS)
    )
    value: ValueParameters | None = None
    playbook: PlaybookParameters | None = None
    # ISO 4217 code of every amount in the list and the API answer.
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    account_context: AccountContext = Field(default_factory=AccountContext)
    untargeted_action_bands: list[Annotated[str, one_of(RISK_BANDS)]] = Field(
        default_factory=lambda: list(DEFAULT_UNTARGETED_ACTION_BANDS)
    )

    @model_validator(mode="after")
    def _threshold_needs_fixed_basis(self) -> ScoringParameters:
        if (
            self.contact_threshold is not None
            and self.value is not None
            and self.value.basis == "per_account"
        ):
            raise ValueError(
                "contact_threshold applies to value.basis 'fixed' only; set "
                "contact_threshold: null or value.basis: fixed"
            )
        return self


class ReportingParameters(Block):
    """``conf/*/parameters_reporting.yml``: the HTML report's tables and plots."""

    tenure_bands_months: list[NonNegativeInt] = Field(min_length=1)
    cohort_months: PositiveInt
    nps_window_days: PositiveInt
    summary_features: PositiveInt
    dependence_features: NonNegativeInt
    contact_rows: PositiveInt

    @model_validator(mode="after")
    def _bands_increase(self) -> ReportingParameters:
        bands = self.tenure_bands_months
        if any(low >= high for low, high in pairwise(bands)):
            raise ValueError(f"tenure_bands_months must increase, got {bands}")
        return self
