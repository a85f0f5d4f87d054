"""Static account attributes drawn at sign-up, observed and latent."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churn_pipeline.demo_data import catalog as cat
from churn_pipeline.demo_data.bundle import ArrayBundle

HEALTH_MEAN = 0.2
HEALTH_SD = 0.6
# Enterprise customers invest in onboarding; basic ones often just try it out.
PLAN_HEALTH = np.array([-0.15, 0.05, 0.25])
# Unobserved churn propensity (budget cuts, internal politics): caps how well any
# model can rank accounts.
FRAILTY_SD = 0.35
PAY_RISK_SD = 0.3
# Annual invoices are paid by bank transfer or procurement more often.
ANNUAL_PAY_RISK = 0.5
BAD_ONBOARDING_SHARE = 0.2


@dataclass
class Accounts(ArrayBundle):
    """Per-account attributes fixed at sign-up (codes index ``catalog`` labels)."""

    signup_day: np.ndarray
    plan: np.ndarray
    seats: np.ndarray
    mrr: np.ndarray
    annual: np.ndarray
    industry: np.ndarray
    country: np.ndarray
    channel: np.ndarray
    discount: np.ndarray
    base_health: np.ndarray
    frailty: np.ndarray
    pay_risk: np.ndarray
    bad_onboarding: np.ndarray


def draw_accounts(
    rng: np.random.Generator, n: int, first_day: int, last_day: int
) -> Accounts:
    """Draw ``n`` accounts signing up between two day indices, in sign-up order."""
    signup_day = np.sort(rng.integers(first_day, last_day + 1, size=n)).astype(np.int32)
    plan = rng.choice(len(cat.PLANS), size=n, p=cat.PLAN_MIX).astype(np.int8)
    seats = _draw_seats(rng, plan)
    annual = rng.random(n) < cat.ANNUAL_SHARE[plan]
    industry = rng.choice(len(cat.INDUSTRIES), size=n, p=cat.INDUSTRY_MIX)
    country = rng.choice(len(cat.COUNTRIES), size=n, p=cat.COUNTRY_MIX)
    channel = rng.choice(len(cat.CHANNELS), size=n, p=cat.CHANNEL_MIX)
    discount = _draw_discount(rng, annual, channel)
    base_health = (
        HEALTH_MEAN
        + PLAN_HEALTH[plan]
        + cat.INDUSTRY_HEALTH[industry]
        + cat.CHANNEL_HEALTH[channel]
        + rng.normal(0.0, HEALTH_SD, n)
    )
    pay_risk = (
        cat.COUNTRY_PAY_RISK[country]
        * cat.CHANNEL_PAY_RISK[channel]
        * np.where(annual, ANNUAL_PAY_RISK, 1.0)
        * rng.lognormal(0.0, PAY_RISK_SD, n)
    )
    return Accounts(
        signup_day=signup_day,
        plan=plan,
        seats=seats,
        mrr=monthly_revenue(plan, seats, discount),
        annual=annual,
        industry=industry.astype(np.int8),
        country=country.astype(np.int8),
        channel=channel.astype(np.int8),
        discount=discount,
        base_health=base_health,
        frailty=rng.normal(0.0, FRAILTY_SD, n),
        pay_risk=pay_risk,
        bad_onboarding=rng.random(n) < BAD_ONBOARDING_SHARE,
    )


def monthly_revenue(
    plan: np.ndarray, seats: np.ndarray, discount: np.ndarray
) -> np.ndarray:
    """Return MRR: list price per seat times seats, minus the discount."""
    return np.round(cat.PLAN_PRICE[plan] * seats * (1.0 - discount), 2)


def _draw_seats(rng: np.random.Generator, plan: np.ndarray) -> np.ndarray:
    raw = rng.lognormal(np.log(cat.SEAT_MEDIAN[plan]), cat.SEAT_SIGMA[plan])
    seats = np.clip(np.round(raw), cat.SEAT_MIN[plan], cat.SEAT_MAX[plan])
    return seats.astype(np.int32)


def _draw_discount(
    rng: np.random.Generator, annual: np.ndarray, channel: np.ndarray
) -> np.ndarray:
    promo = rng.random(annual.size) < cat.CHANNEL_PROMO_SHARE[channel]
    promo_pct = rng.choice(cat.PROMO_DISCOUNTS, size=annual.size)
    discount = np.where(annual, cat.ANNUAL_DISCOUNT, 0.0) + np.where(
        promo, promo_pct, 0.0
    )
    return np.round(np.minimum(discount, cat.MAX_DISCOUNT), 2)
