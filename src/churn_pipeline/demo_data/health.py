"""Latent account health: a mean-reverting state with shocks and support effects.

Health is on a z-score-like scale (0 = typical, below -1 = in trouble). It drives
usage, tickets, NPS, plan changes and the voluntary churn hazard; none of those
see it directly, only through noisy observations.
"""

from __future__ import annotations

import numpy as np

from churn_pipeline.demo_data.state import SimState
from churn_pipeline.demo_data.support import SupportSignals

# Daily pull of health towards the account's baseline: deviations fade in weeks.
MEAN_REVERSION = 0.05
HEALTH_NOISE_SD = 0.08
# The baseline itself drifts slowly and forgets shocks over about half a year.
BASELINE_PULL = 0.004
BASELINE_DRIFT_SD = 0.015
# Daily probabilities and sizes of organisational shocks.
P_CHAMPION_LEAVES = 1 / 900
CHAMPION_HIT = 1.0
P_COMPETITOR = 1 / 1500
COMPETITOR_HIT = 0.7
COMPETITOR_MEMORY_DAYS = 180
P_NEW_CHAMPION = 1 / 1000
NEW_CHAMPION_LIFT = 0.5
# Support experience: every day a ticket waits > 5 days hurts a little, a bad
# closing experience hurts more, a good one helps slightly.
OLD_TICKET_DRAG = 0.02
LOW_SATISFACTION_HIT = 0.25
HIGH_SATISFACTION_LIFT = 0.04
SUPPORT_PAIN_DECAY = 0.97
HEALTH_LIMIT = 4.0
# Memory of the "recent health" reference that makes a decline visible.
RECENT_HEALTH_DAYS = 30.0


def evolve_health(
    rng: np.random.Generator,
    state: SimState,
    base_health: np.ndarray,
    idx: np.ndarray,
    day: int,
    support: SupportSignals,
) -> None:
    """Advance health, baseline and support pain of alive accounts ``idx``."""
    noise = rng.standard_normal((idx.size, 2))
    shock = rng.random((idx.size, 3))
    competitor = shock[:, 1] < P_COMPETITOR
    baseline_shock = (
        NEW_CHAMPION_LIFT * (shock[:, 2] < P_NEW_CHAMPION)
        - CHAMPION_HIT * (shock[:, 0] < P_CHAMPION_LEAVES)
        - COMPETITOR_HIT * competitor
    )
    baseline = state.baseline[idx]
    baseline += (
        BASELINE_PULL * (base_health[idx] - baseline)
        + BASELINE_DRIFT_SD * noise[:, 1]
        + baseline_shock
    )
    low = support.low_satisfaction[idx]
    old_open = support.old_open[idx]
    health = state.health[idx]
    health += (
        MEAN_REVERSION * (baseline - health)
        + HEALTH_NOISE_SD * noise[:, 0]
        + 0.5 * baseline_shock
        + HIGH_SATISFACTION_LIFT * support.high_satisfaction[idx]
        - LOW_SATISFACTION_HIT * low
        - OLD_TICKET_DRAG * old_open
    )
    health = np.clip(health, -HEALTH_LIMIT, HEALTH_LIMIT)
    state.baseline[idx] = baseline
    state.health[idx] = health
    state.recent_health[idx] += (health - state.recent_health[idx]) / RECENT_HEALTH_DAYS
    state.support_pain[idx] = (
        SUPPORT_PAIN_DECAY * state.support_pain[idx] + old_open + 2.0 * low
    )
    state.competitor_until[idx[competitor]] = day + COMPETITOR_MEMORY_DAYS
