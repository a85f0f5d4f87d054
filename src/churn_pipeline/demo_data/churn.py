"""Voluntary cancellation hazard and cancellation reasons.

The daily hazard is a proportional-hazards model: a base rate shaped by tenure,
plan and (for annual contracts) the renewal date, times the exponential of the
warning signs a customer-success team can observe, times an unobserved frailty.
A small hazard with no warning signs at all is added on top.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churn_pipeline.demo_data import catalog as cat
from churn_pipeline.demo_data.accounts import Accounts
from churn_pipeline.demo_data.bundle import ArrayBundle
from churn_pipeline.demo_data.state import SimState

BASE_HAZARD = 0.0003
# Churn with no visible warning (acquired, closed, budget freeze).
UNEXPLAINED_HAZARD = 0.0001
# New customers churn most: hazard is (1 + boost) times higher at sign-up and
# settles within about three months; each month of tenure then helps a little.
TENURE_BOOST = 6.0
TENURE_DECAY_DAYS = 35.0
TENURE_MONTHLY_DECLINE = 0.01
PLAN_HAZARD = np.array([1.2, 1.0, 0.7])
# Annual customers mostly leave by not renewing: they cancel in the weeks
# before the renewal invoice and rarely mid-term.
RENEWAL_WINDOW_DAYS = 30
ANNUAL_IN_WINDOW = 8.0
ANNUAL_OUTSIDE_WINDOW = 0.05
# Log-hazard weights of the warning signs, scaled by ``signal_strength``.
W_HEALTH = 1.2
W_DECLINE = 1.0
W_INACTIVE = 0.5
W_OLD_TICKETS = 0.5
W_DETRACTOR = 0.4
W_VALUE_GAP = 0.4
W_SUPPORT_PAIN = 0.05
INACTIVE_UNIT_DAYS = 15.0
INACTIVE_CAP_DAYS = 45
OLD_TICKETS_CAP = 3
SUPPORT_PAIN_CAP = 10.0
DETRACTOR_MAX_SCORE = 6
# Typical daily active users per seat including weekends; paying for many more
# seats than are used means the price is no longer matched by value.
TYPICAL_UTILISATION = 0.35
VALUE_GAP_CAP = 3.0


@dataclass
class Drivers(ArrayBundle):
    """Warning signs of the accounts considered today."""

    health: np.ndarray
    decline: np.ndarray
    inactive: np.ndarray
    old_open: np.ndarray
    detractor: np.ndarray
    value_gap: np.ndarray
    support_pain: np.ndarray
    competitor: np.ndarray


def churn_drivers(
    state: SimState, idx: np.ndarray, day: int, old_open: np.ndarray
) -> Drivers:
    """Collect the warning signs of accounts ``idx`` on ``day``."""
    users = np.maximum(state.ema_active[idx], 0.5)
    price_per_user = state.mrr[idx] / users
    list_price = cat.PLAN_PRICE[state.plan[idx]]
    value_gap = np.log(price_per_user / list_price * TYPICAL_UTILISATION)
    inactive_days = np.minimum(day - state.last_login_day[idx], INACTIVE_CAP_DAYS)
    return Drivers(
        health=state.health[idx],
        decline=np.maximum(state.recent_health[idx] - state.health[idx], 0.0),
        inactive=inactive_days / INACTIVE_UNIT_DAYS,
        old_open=np.minimum(old_open[idx], OLD_TICKETS_CAP),
        detractor=state.last_nps[idx] <= DETRACTOR_MAX_SCORE,
        value_gap=np.clip(value_gap, 0.0, VALUE_GAP_CAP),
        support_pain=np.minimum(state.support_pain[idx], SUPPORT_PAIN_CAP),
        competitor=state.competitor_until[idx] >= day,
    )


def warning_score(drivers: Drivers) -> np.ndarray:
    """Return the log-hazard contribution of the warning signs."""
    return (
        -W_HEALTH * drivers.health
        + W_DECLINE * drivers.decline
        + W_INACTIVE * drivers.inactive
        + W_OLD_TICKETS * drivers.old_open
        + W_DETRACTOR * drivers.detractor
        + W_VALUE_GAP * drivers.value_gap
        + W_SUPPORT_PAIN * drivers.support_pain
    )


def base_hazard(
    tenure: np.ndarray,
    plan: np.ndarray,
    annual: np.ndarray,
    days_to_renewal: np.ndarray,
) -> np.ndarray:
    """Return the hazard of an account without warning signs or frailty."""
    tenure_shape = (1.0 + TENURE_BOOST * np.exp(-tenure / TENURE_DECAY_DAYS)) * (
        1.0 - TENURE_MONTHLY_DECLINE
    ) ** (tenure / 30.0)
    near_renewal = (days_to_renewal >= 0) & (days_to_renewal <= RENEWAL_WINDOW_DAYS)
    cycle = np.where(
        annual, np.where(near_renewal, ANNUAL_IN_WINDOW, ANNUAL_OUTSIDE_WINDOW), 1.0
    )
    return BASE_HAZARD * tenure_shape * PLAN_HAZARD[plan] * cycle


def voluntary_hazard(
    state: SimState,
    accounts: Accounts,
    idx: np.ndarray,
    day: int,
    old_open: np.ndarray,
    signal_strength: float,
) -> tuple[Drivers, np.ndarray]:
    """Return the warning signs and today's voluntary hazard of accounts ``idx``.

    The no-warning hazard ``UNEXPLAINED_HAZARD`` is not included.
    """
    drivers = churn_drivers(state, idx, day, old_open)
    shape = base_hazard(
        day - accounts.signup_day[idx],
        state.plan[idx],
        accounts.annual[idx],
        state.next_bill_day[idx] - day,
    )
    risk = accounts.frailty[idx] + signal_strength * warning_score(drivers)
    return drivers, shape * np.exp(risk)


def draw_reasons(
    rng: np.random.Generator, drivers: Drivers, unexplained: np.ndarray
) -> np.ndarray:
    """Draw a voluntary cancellation reason that follows its strongest driver.

    Args:
        rng: Random generator.
        drivers: Warning signs of the cancelling accounts.
        unexplained: Whether each cancellation came from the no-warning hazard.
    """
    n = unexplained.size
    weights = np.zeros((n, len(cat.REASONS)))
    weights[:, cat.PRICING] = 0.3 + 1.5 * drivers.value_gap
    weights[:, cat.MISSING_FEATURES] = 0.4 + 0.8 * np.maximum(-drivers.health, 0.0)
    weights[:, cat.SUPPORT] = 0.1 + 0.25 * drivers.support_pain + 0.8 * drivers.old_open
    weights[:, cat.COMPETITOR] = 0.15 + 3.0 * drivers.competitor
    weights[:, cat.BUSINESS_CLOSED] = 0.15
    weights[:, cat.OTHER] = 0.25
    no_warning = np.zeros(len(cat.REASONS))
    no_warning[[cat.PRICING, cat.COMPETITOR, cat.BUSINESS_CLOSED, cat.OTHER]] = [
        0.1,
        0.2,
        1.0,
        0.6,
    ]
    weights[unexplained] = no_warning
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(n) * cumulative[:, -1]
    return (u[:, None] >= cumulative).sum(axis=1).astype(np.int8)
