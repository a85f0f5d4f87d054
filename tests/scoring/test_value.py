"""Expected lifetime, per-account CLV, contact profit and the typical CLV."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from churn_pipeline.scoring.value import (
    DAYS_PER_MONTH,
    account_clv,
    check_typical_clv,
    contact_profit,
    expected_lifetime_months,
)

MONTH = DAYS_PER_MONTH  # 30.4375 days


# ------------------------------------------------------------------- lifetime
@pytest.mark.parametrize(
    ("labels", "horizon_days", "expected"),
    [
        # Horizon of one month: h = p.
        ([1, 0, 0, 0], MONTH, 4.0),
        ([1, 1, 0, 0, 0, 0, 0, 0, 0, 0], MONTH, 5.0),
        # Two months, p = 0.75: h = 1 - 0.25 ** 0.5 = 0.5.
        ([1, 1, 1, 0], 2 * MONTH, 2.0),
        # Half a month, p = 0.5: h = 1 - 0.5 ** 2 = 0.75.
        ([1, 0], MONTH / 2, 4 / 3),
        # Everyone churned: one month.
        ([1, 1, 1], MONTH, 1.0),
        # 30 days, p = 0.25: h = 1 - 0.75 ** (30.4375 / 30) = 0.2531...
        ([1, 0, 0, 0], 30, 3.950384256384216),
    ],
)
def test_lifetime_hand_computed(
    labels: list[int], horizon_days: float, expected: float
) -> None:
    lifetime = expected_lifetime_months(
        np.array(labels), horizon_days=horizon_days, max_months=100.0
    )

    assert lifetime == pytest.approx(expected, rel=1e-12)


def test_lifetime_is_not_the_naive_horizon_rate() -> None:
    # p = 0.25 over 90 days is ~9.27 % a month: not 25 % (lifetime 4), nor
    # 25 % / (90 / 30.4375) = 8.46 % (lifetime 11.8).
    lifetime = expected_lifetime_months([1, 0, 0, 0], horizon_days=90, max_months=100)

    assert lifetime == pytest.approx(1 / (1 - 0.75 ** (MONTH / 90)), rel=1e-12)
    assert lifetime == pytest.approx(10.786, abs=5e-4)


@pytest.mark.parametrize(("max_months", "expected"), [(36.0, 36.0), (200.0, 100.0)])
def test_lifetime_cap(max_months: float, expected: float) -> None:
    # 1 churner in 100 over one month: 1 / 0.01 = 100 months before the cap.
    labels = np.r_[1.0, np.zeros(99)]

    lifetime = expected_lifetime_months(
        labels, horizon_days=MONTH, max_months=max_months
    )

    assert lifetime == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "labels",
    [np.zeros(50), pd.Series([0.0] * 7), [False, False], pd.Series([0], index=[9])],
)
def test_lifetime_without_churn_is_the_cap(labels: object) -> None:
    assert expected_lifetime_months(labels, horizon_days=30, max_months=24.0) == 24.0


@pytest.mark.parametrize(
    "labels",
    [
        [True, False, False, False],
        pd.Series([1.0, 0.0, 0.0, 0.0], index=[10, 20, 30, 40]),
        np.array([1, 0, 0, 0], dtype=np.int8),
    ],
)
def test_lifetime_accepts_label_types(labels: object) -> None:
    lifetime = expected_lifetime_months(labels, horizon_days=MONTH, max_months=36)

    assert lifetime == pytest.approx(4.0, rel=1e-12)


def test_lifetime_rejects_empty_labels() -> None:
    with pytest.raises(ValueError, match="labels is empty"):
        expected_lifetime_months([], horizon_days=30, max_months=36)


@pytest.mark.parametrize(
    ("labels", "count", "example"),
    [
        ([0, 1, 2], 1, "2: 2"),
        ([0.0, np.nan, 1.0, np.nan], 2, "1: nan"),
        ([0.5, 0.0], 1, "0: 0.5"),
        ([-1, 0, 1], 1, "0: -1"),
    ],
)
def test_lifetime_rejects_labels_other_than_0_1(
    labels: list[float], count: int, example: str
) -> None:
    with pytest.raises(
        ValueError, match=f"labels must be 0 or 1; {count} of {len(labels)} are not"
    ) as error:
        expected_lifetime_months(labels, horizon_days=30, max_months=36)

    assert example in str(error.value)


def test_lifetime_rejects_text_labels() -> None:
    with pytest.raises(ValueError, match="labels must be numeric 0/1, got dtype"):
        expected_lifetime_months(["yes", "no"], horizon_days=30, max_months=36)


@pytest.mark.parametrize("horizon_days", [0, -30, float("nan")])
def test_lifetime_rejects_a_bad_horizon(horizon_days: float) -> None:
    with pytest.raises(ValueError, match="horizon_days must be > 0"):
        expected_lifetime_months([0, 1], horizon_days=horizon_days, max_months=36)


@pytest.mark.parametrize("max_months", [0.0, -1.0, float("nan"), float("inf")])
def test_lifetime_rejects_a_bad_cap(max_months: float) -> None:
    with pytest.raises(ValueError, match="max_months must be a finite number > 0"):
        expected_lifetime_months([0, 1], horizon_days=30, max_months=max_months)


# ------------------------------------------------------------------------ CLV
def test_account_clv_hand_computed() -> None:
    clv = account_clv([100.0, 0.0, 12.5], gross_margin=0.8, lifetime_months=10.0)

    np.testing.assert_allclose(clv, [800.0, 0.0, 100.0], rtol=1e-15)
    assert clv.dtype == np.float64


def test_account_clv_keeps_order_and_ignores_a_series_index() -> None:
    mrr = pd.Series([30.0, 10.0, 20.0], index=["c", "a", "b"])

    clv = account_clv(mrr, gross_margin=1.0, lifetime_months=2.0)

    np.testing.assert_array_equal(clv, [60.0, 20.0, 40.0])


def test_account_clv_is_proportional_to_mrr() -> None:
    mrr = np.array([10.0, 20.0, 40.0])

    clv = account_clv(mrr, gross_margin=0.7, lifetime_months=24.0)

    np.testing.assert_allclose(clv / mrr, 0.7 * 24.0, rtol=1e-15)


@pytest.mark.parametrize(
    ("mrr", "count", "examples"),
    [
        (pd.Series([10.0, -5.0, 3.0], index=["A1", "A2", "A3"]), 1, "A2: -5.0"),
        (pd.Series([np.nan, 1.0, np.nan], index=["A1", "A2", "A3"]), 2, "A1: nan"),
        ([1.0, np.inf], 1, "1: inf"),
        ([-1, -2, -3, -4, -5, -6, -7], 7, "0: -1, 1: -2, 2: -3, 3: -4, 4: -5)"),
    ],
)
def test_account_clv_rejects_bad_mrr(mrr: object, count: int, examples: str) -> None:
    with pytest.raises(
        ValueError, match=f"mrr must be finite and >= 0; {count} of .* are not"
    ) as error:
        account_clv(mrr, gross_margin=0.8, lifetime_months=12.0)

    assert examples in str(error.value)


def test_account_clv_rejects_text_mrr() -> None:
    with pytest.raises(ValueError, match="mrr must be numeric"):
        account_clv(["100"], gross_margin=0.8, lifetime_months=12.0)


@pytest.mark.parametrize("gross_margin", [0.0, -0.1, 1.01, float("nan")])
def test_account_clv_rejects_a_margin_outside_0_1(gross_margin: float) -> None:
    with pytest.raises(ValueError, match=r"gross_margin must be in \(0, 1\]"):
        account_clv([100.0], gross_margin=gross_margin, lifetime_months=12.0)


@pytest.mark.parametrize("lifetime_months", [0.0, -3.0, float("nan")])
def test_account_clv_rejects_a_bad_lifetime(lifetime_months: float) -> None:
    with pytest.raises(ValueError, match="lifetime_months must be a finite number > 0"):
        account_clv([100.0], gross_margin=0.8, lifetime_months=lifetime_months)


# ------------------------------------------------------------- contact profit
def test_contact_profit_broadcasts_per_account_incentives() -> None:
    profit = contact_profit(
        [0.5, 0.5, 0.1],
        [500.0, 500.0, 5000.0],
        [10.0, 25.0, 10.0],
        accept_rate=0.3,
        contact_cost=1.0,
    )

    # p g (clv - d) - (1 - p) d - f, by hand.
    np.testing.assert_allclose(profit, [67.5, 57.75, 139.7])


# ------------------------------------------------------- typical CLV check
@pytest.mark.parametrize(
    ("clv", "typical", "warns"),
    [
        ([100.0, 300.0], 200.0, False),
        ([100.0, 300.0], 101.0, False),  # mean 200 is within 2x of 101
        ([100.0, 300.0], 99.0, True),
        ([100.0, 300.0], 401.0, True),
        ([20_000.0, 40_000.0], 200.0, True),
    ],
)
def test_check_typical_clv_warns_when_profit_clv_is_far_off(
    clv: list[float], typical: float, warns: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="churn_pipeline.scoring.value"):
        mean = check_typical_clv(clv, typical)

    assert mean == pytest.approx(np.mean(clv))
    assert ("profit.clv is" in caplog.text) == warns
    if warns:
        assert f"{np.mean(clv):,.0f}" in caplog.text
