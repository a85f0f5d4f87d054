"""Expansion and contraction: upgrades, downgrades and seat changes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churn_pipeline.demo_data import catalog as cat

# Daily rates at health 0; healthy accounts expand, sick ones contract first.
UPGRADE_RATE = 0.0005
DOWNGRADE_RATE = 0.0003
SEAT_CHANGE_RATE = 0.0015
PLAN_CHANGE_HEALTH_SLOPE = 1.4
# Seat changes follow health and how many seats are really used.
TYPICAL_UTILISATION = 0.45
SEAT_DIRECTION_NOISE_SD = 0.7
SEAT_GROWTH = (0.1, 0.5)
SEAT_SHRINK = (0.1, 0.4)


@dataclass(frozen=True)
class ChangeDraw:
    """Plan changes on one day: new plan and seats per changed account."""

    acc: np.ndarray
    kind: np.ndarray
    plan: np.ndarray
    seats: np.ndarray


def draw_plan_changes(
    rng: np.random.Generator,
    idx: np.ndarray,
    health: np.ndarray,
    plan: np.ndarray,
    seats: np.ndarray,
    ema_active: np.ndarray,
) -> ChangeDraw:
    """Draw today's plan changes of accounts ``idx`` (arrays aligned to it)."""
    u = rng.random((idx.size, 3))
    lift = np.exp(PLAN_CHANGE_HEALTH_SLOPE * health)
    upgrade = (plan < len(cat.PLANS) - 1) & (u[:, 0] < UPGRADE_RATE * lift)
    downgrade = ~upgrade & (plan > 0) & (u[:, 1] < DOWNGRADE_RATE / lift)
    candidate = ~upgrade & ~downgrade & (u[:, 2] < SEAT_CHANGE_RATE)
    new_seats = seats.copy()
    new_seats[candidate] = _changed_seats(
        rng, health[candidate], seats[candidate], ema_active[candidate]
    )
    seat_change = candidate & (new_seats != seats)
    changed = upgrade | downgrade | seat_change
    kind = np.select(
        [upgrade, downgrade], [cat.UPGRADE, cat.DOWNGRADE], cat.SEAT_CHANGE
    )
    new_plan = plan + upgrade.astype(np.int8) - downgrade.astype(np.int8)
    return ChangeDraw(
        acc=idx[changed],
        kind=kind[changed],
        plan=new_plan[changed],
        seats=new_seats[changed],
    )


def _changed_seats(
    rng: np.random.Generator,
    health: np.ndarray,
    seats: np.ndarray,
    ema_active: np.ndarray,
) -> np.ndarray:
    utilisation = np.maximum(ema_active, 0.1) / seats
    direction = (
        health
        + 0.5 * np.log(utilisation / TYPICAL_UTILISATION)
        + rng.normal(0.0, SEAT_DIRECTION_NOISE_SD, seats.size)
    )
    grow = np.maximum(1, np.round(seats * rng.uniform(*SEAT_GROWTH, seats.size)))
    shrink = np.maximum(1, np.round(seats * rng.uniform(*SEAT_SHRINK, seats.size)))
    new = np.where(direction > 0, seats + grow, np.maximum(seats - shrink, 1))
    return new.astype(np.int32)
