"""Support tickets: creation, resolution times, satisfaction and open backlog."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churn_pipeline.demo_data.state import NO_DAY

SECONDS_PER_DAY = 86_400
# Tickets per day and sqrt(seat): more users, more questions, but sub-linearly.
TICKET_RATE = 0.006
# Struggling accounts write more tickets.
TICKET_HEALTH_SLOPE = 0.8
# New customers ask many onboarding questions in their first weeks.
ONBOARDING_TICKET_BOOST = 2.0
ONBOARDING_TICKET_DAYS = 30.0
# Cumulative cut-offs of low / medium / high (rest: urgent).
PRIORITY_CUTS = np.array([0.45, 0.80, 0.95])
PRIORITY_HEALTH_TILT = 0.3
# Median resolution hours by priority; log-normal spread leaves a tail > 5 days.
MEDIAN_RESOLUTION_HOURS = np.array([60.0, 30.0, 12.0, 4.0])
RESOLUTION_SIGMA = 1.1
NEVER_CLOSED_SHARE = 0.02
SURVEY_RESPONSE_RATE = 0.6
SATISFACTION_BASE = 4.2
SATISFACTION_HEALTH_SLOPE = 0.4
# Each doubling of the wait (in days + 1) costs about half a star.
SATISFACTION_WAIT_SLOPE = 0.7
SATISFACTION_NOISE_SD = 0.8
LOW_SATISFACTION = 2.0
HIGH_SATISFACTION = 4.0
OLD_TICKET_DAYS = 5
# Tickets ignored for two months are written off by the customer.
FORGOTTEN_DAYS = 60
BUSINESS_HOURS = (7 * 3600, 20 * 3600)


@dataclass(frozen=True)
class SupportSignals:
    """Per-account support experience on one day."""

    old_open: np.ndarray
    low_satisfaction: np.ndarray
    high_satisfaction: np.ndarray


@dataclass(frozen=True)
class TicketDraw:
    """Tickets opened on one day; ``duration_seconds`` is -1 if never closed."""

    acc: np.ndarray
    open_second: np.ndarray
    duration_seconds: np.ndarray
    priority: np.ndarray
    satisfaction: np.ndarray

    def close_day(self, day: int) -> np.ndarray:
        """Return the day index each ticket closes on (``NO_DAY`` if never)."""
        offset = (self.open_second + self.duration_seconds) // SECONDS_PER_DAY
        return np.where(self.duration_seconds < 0, NO_DAY, day + offset)


def draw_tickets(
    rng: np.random.Generator,
    idx: np.ndarray,
    health: np.ndarray,
    seats: np.ndarray,
    tenure: np.ndarray,
    weekday_factor: float,
) -> TicketDraw:
    """Draw tickets opened today by the accounts ``idx`` (arrays aligned to it)."""
    onboarding = 1.0 + ONBOARDING_TICKET_BOOST * np.exp(
        -tenure / ONBOARDING_TICKET_DAYS
    )
    rate = (
        TICKET_RATE
        * np.sqrt(seats)
        * np.exp(-TICKET_HEALTH_SLOPE * health)
        * onboarding
        * weekday_factor
    )
    count = rng.poisson(rate)
    acc = np.repeat(idx, count)
    ticket_health = np.repeat(health, count)
    priority = _draw_priority(rng, ticket_health)
    hours = rng.lognormal(np.log(MEDIAN_RESOLUTION_HOURS[priority]), RESOLUTION_SIGMA)
    duration = np.maximum(np.round(hours * 3600), 60).astype(np.int64)
    duration[rng.random(acc.size) < NEVER_CLOSED_SHARE] = -1
    return TicketDraw(
        acc=acc,
        open_second=rng.integers(*BUSINESS_HOURS, size=acc.size),
        duration_seconds=duration,
        priority=priority,
        satisfaction=_draw_satisfaction(rng, ticket_health, hours),
    )


def _draw_priority(rng: np.random.Generator, health: np.ndarray) -> np.ndarray:
    # Raising a uniform to a power < 1 pushes sick accounts to higher priorities.
    u = rng.random(health.size) ** np.exp(PRIORITY_HEALTH_TILT * health)
    return np.searchsorted(PRIORITY_CUTS, u).astype(np.int8)


def _draw_satisfaction(
    rng: np.random.Generator, health: np.ndarray, hours: np.ndarray
) -> np.ndarray:
    wait = np.log2(hours / 24.0 + 1.0)
    score = (
        SATISFACTION_BASE
        + SATISFACTION_HEALTH_SLOPE * health
        - SATISFACTION_WAIT_SLOPE * wait
        + rng.normal(0.0, SATISFACTION_NOISE_SD, health.size)
    )
    score = np.clip(np.round(score), 1.0, 5.0)
    answered = rng.random(health.size) < SURVEY_RESPONSE_RATE
    return np.where(answered, score, np.nan)


class TicketBook:
    """Tickets that can still affect their account (open, or closing soon)."""

    def __init__(self, n_accounts: int) -> None:
        self._n = n_accounts
        self._acc = np.empty(0, dtype=np.int32)
        self._open_day = np.empty(0, dtype=np.int32)
        self._close_day = np.empty(0, dtype=np.int32)
        self._satisfaction = np.empty(0, dtype=np.float32)

    def add(self, day: int, tickets: TicketDraw) -> None:
        """Add tickets opened on ``day``."""
        self._acc = np.concatenate([self._acc, tickets.acc.astype(np.int32)])
        self._open_day = np.concatenate(
            [self._open_day, np.full(tickets.acc.size, day, dtype=np.int32)]
        )
        self._close_day = np.concatenate(
            [self._close_day, tickets.close_day(day).astype(np.int32)]
        )
        self._satisfaction = np.concatenate(
            [self._satisfaction, tickets.satisfaction.astype(np.float32)]
        )

    def signals(self, day: int) -> SupportSignals:
        """Return old open tickets and satisfaction of tickets closed on ``day``."""
        age = day - self._open_day
        old = (
            (age > OLD_TICKET_DAYS) & (age <= FORGOTTEN_DAYS) & (self._close_day > day)
        )
        closing = self._close_day == day
        low = closing & (self._satisfaction <= LOW_SATISFACTION)
        high = closing & (self._satisfaction >= HIGH_SATISFACTION)
        return SupportSignals(
            old_open=np.bincount(self._acc[old], minlength=self._n),
            low_satisfaction=np.bincount(self._acc[low], minlength=self._n),
            high_satisfaction=np.bincount(self._acc[high], minlength=self._n),
        )

    def prune(self, day: int) -> None:
        """Forget tickets that can no longer affect their account."""
        keep = (self._close_day >= day) & (day - self._open_day <= FORGOTTEN_DAYS)
        self._acc = self._acc[keep]
        self._open_day = self._open_day[keep]
        self._close_day = self._close_day[keep]
        self._satisfaction = self._satisfaction[keep]
