"""Daily product usage drawn from account health."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Share of seats active on a working day = sigmoid(bias + slope * health):
# about 45 % for a typical account, 25 % for a struggling one.
ADOPTION_BIAS = -0.2
ADOPTION_SLOPE = 0.85
# Extra logins per active user beyond the first.
EXTRA_LOGINS = 0.6
# Key-feature uses per active user by plan (rows: basic, pro, enterprise;
# columns: reports, dashboards, integrations, automations). Lower tiers limit
# integrations and automations.
FEATURE_RATE = np.array(
    [
        [0.30, 0.60, 0.04, 0.03],
        [0.45, 0.80, 0.15, 0.12],
        [0.55, 0.90, 0.25, 0.20],
    ]
)
# Advanced features are abandoned first when an account loses interest.
FEATURE_HEALTH_SLOPE = np.array([0.3, 0.2, 0.6, 0.8])
EMA_ACTIVE_DAYS = 30.0


@dataclass(frozen=True)
class UsageDraw:
    """One day of usage.

    ``active_users`` covers all drawn accounts; ``used`` marks those with
    activity, whose positions, logins and feature counts are ``idx``,
    ``logins`` and ``features``.
    """

    active_users: np.ndarray
    used: np.ndarray
    idx: np.ndarray
    logins: np.ndarray
    features: np.ndarray


def adoption(health: np.ndarray) -> np.ndarray:
    """Return the expected share of seats active on a working day."""
    return 1.0 / (1.0 + np.exp(-(ADOPTION_BIAS + ADOPTION_SLOPE * health)))


def draw_usage(
    rng: np.random.Generator,
    idx: np.ndarray,
    health: np.ndarray,
    seats: np.ndarray,
    plan: np.ndarray,
    weekday_factor: float,
) -> UsageDraw:
    """Draw one day of usage for accounts ``idx`` (other arrays aligned to it)."""
    active = rng.binomial(seats, adoption(health) * weekday_factor)
    used = active > 0
    # Only accounts with activity can log in or use features; skipping the rest
    # saves most of the Poisson draws on weekends.
    rate = FEATURE_RATE[plan[used]] * np.exp(FEATURE_HEALTH_SLOPE * health[used, None])
    counts = rng.poisson(
        active[used, None] * np.column_stack([np.full(used.sum(), EXTRA_LOGINS), rate])
    )
    return UsageDraw(
        active_users=active,
        used=used,
        idx=idx[used],
        logins=active[used] + counts[:, 0],
        features=counts[:, 1:],
    )
