"""Mutable per-account simulation state."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churn_pipeline.demo_data.accounts import Accounts
from churn_pipeline.demo_data.bundle import ArrayBundle
from churn_pipeline.demo_data.timeline import Timeline

# Sentinel for "no such day" in int32 day columns.
NO_DAY = np.iinfo(np.int32).max
# A failed onboarding starts the account well below its potential ...
ONBOARDING_HIT = 1.3
# ... and part of that damage lingers in its baseline for months.
ONBOARDING_BASELINE_HIT = 0.6
START_HEALTH_SD = 0.3
# First guess of daily active users per seat before any usage is seen.
START_ADOPTION = 0.3
NPS_SURVEY_EVERY_DAYS = 91


@dataclass
class SimState(ArrayBundle):
    """Everything about an account that changes during the simulation."""

    plan: np.ndarray
    seats: np.ndarray
    mrr: np.ndarray
    health: np.ndarray
    recent_health: np.ndarray
    baseline: np.ndarray
    cancelled: np.ndarray
    involuntary_day: np.ndarray
    last_login_day: np.ndarray
    ema_active: np.ndarray
    support_pain: np.ndarray
    competitor_until: np.ndarray
    last_nps: np.ndarray
    bad_card: np.ndarray
    failed_in_row: np.ndarray
    next_bill_day: np.ndarray
    next_bill_month: np.ndarray
    bill_day_of_month: np.ndarray
    nps_phase: np.ndarray


def init_state(
    rng: np.random.Generator, accounts: Accounts, timeline: Timeline
) -> SimState:
    """Return the state of freshly signed-up accounts."""
    n = accounts.size
    bad = accounts.bad_onboarding
    signup = accounts.signup_day
    health = (
        accounts.base_health
        - ONBOARDING_HIT * bad
        + rng.normal(0.0, START_HEALTH_SD, n)
    )
    return SimState(
        plan=accounts.plan.copy(),
        seats=accounts.seats.copy(),
        mrr=accounts.mrr.copy(),
        health=health,
        recent_health=health.copy(),
        baseline=accounts.base_health - ONBOARDING_BASELINE_HIT * bad,
        cancelled=np.zeros(n, dtype=bool),
        involuntary_day=np.full(n, NO_DAY, dtype=np.int32),
        last_login_day=signup.copy(),
        ema_active=START_ADOPTION * accounts.seats,
        support_pain=np.zeros(n),
        competitor_until=np.full(n, -1, dtype=np.int32),
        last_nps=np.full(n, np.nan),
        bad_card=np.zeros(n, dtype=bool),
        failed_in_row=np.zeros(n, dtype=np.int8),
        next_bill_day=signup.copy(),
        next_bill_month=timeline.month_of(signup),
        bill_day_of_month=timeline.day_of_month(signup).astype(np.int8),
        nps_phase=rng.integers(0, NPS_SURVEY_EVERY_DAYS, n).astype(np.int16),
    )


def alive_mask(accounts: Accounts, state: SimState, day: int) -> np.ndarray:
    """Return which accounts are customers on ``day``."""
    return (accounts.signup_day <= day) & ~state.cancelled
