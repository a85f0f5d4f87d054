"""RetentionEconomics: the campaign costs checked once, from the parameters."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from churn_pipeline.evaluation.economics import DEFAULT_ECONOMICS, RetentionEconomics

CONF = Path(__file__).resolve().parents[2] / "conf"


@pytest.mark.parametrize("env", ["base", "telco"])
def test_the_configured_profit_block_builds_unchanged(env: str) -> None:
    profit = yaml.safe_load((CONF / env / "parameters.yml").read_text())["profit"]

    economics = RetentionEconomics.from_params(profit)

    assert dataclasses.asdict(economics) == profit


def test_telco_keeps_the_literature_economics() -> None:
    # Its published EMPC figures use CLV 200, d 10, f 1; the base block
    # describes the SaaS demo's typical account instead.
    telco = yaml.safe_load((CONF / "telco" / "parameters.yml").read_text())
    base = yaml.safe_load((CONF / "base" / "parameters.yml").read_text())

    assert RetentionEconomics.from_params(telco["profit"]) == DEFAULT_ECONOMICS
    assert RetentionEconomics.from_params(base["profit"]).clv > DEFAULT_ECONOMICS.clv


def test_values_are_stored_as_floats() -> None:
    economics = RetentionEconomics(clv=300, incentive_cost=0, contact_cost=2, alpha=1)

    values = dataclasses.asdict(economics)
    assert all(type(value) is float for value in values.values())
    assert values == {
        "clv": 300.0,
        "incentive_cost": 0.0,
        "contact_cost": 2.0,
        "accept_rate": 0.3,
        "alpha": 1.0,
        "beta": 14.0,
    }


def test_expected_accept_rate_is_the_beta_mean() -> None:
    assert DEFAULT_ECONOMICS.expected_accept_rate == pytest.approx(0.3, rel=1e-15)
    assert RetentionEconomics(alpha=1.0, beta=3.0).expected_accept_rate == 0.25


def test_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_ECONOMICS.clv = 1.0  # type: ignore[misc]


def test_a_missing_parameter_is_named() -> None:
    profit = {"clv": 200.0, "incentive_cost": 10.0, "contact_cost": 1.0}

    with pytest.raises(KeyError, match=r"lack \['accept_rate', 'alpha', 'beta'\]"):
        RetentionEconomics.from_params(profit)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("clv", 10.0, r"clv must be greater than incentive_cost .* got clv=10.0"),
        ("incentive_cost", -1.0, "incentive_cost must be >= 0, got -1.0"),
        ("contact_cost", float("inf"), "contact_cost must be finite"),
        ("accept_rate", 0.0, "accept_rate must satisfy 0 < accept_rate <= 1"),
        ("accept_rate", 1.5, "accept_rate must satisfy 0 < accept_rate <= 1"),
        ("alpha", 0.0, "alpha must be > 0, got 0.0"),
        ("beta", -1.0, "beta must be > 0, got -1.0"),
    ],
)
def test_each_bound_is_checked_and_named(
    field: str, value: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RetentionEconomics(**{field: value})


@pytest.mark.parametrize("value", [True, "200", None])
def test_a_non_number_is_refused(value: object) -> None:
    with pytest.raises(TypeError, match="clv must be a real number"):
        RetentionEconomics(clv=value)  # type: ignore[arg-type]
