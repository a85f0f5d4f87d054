"""One simulated day of every account, and the world it acts on.

Each day cancellations come first (so they end the day's activity), then health
evolves and customers use the product, open tickets, answer surveys, pay
invoices and change plans. Activity before the observation window's first day
drives the state but is not recorded: only subscription events are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churn_pipeline.demo_data import catalog as cat
from churn_pipeline.demo_data.accounts import Accounts, monthly_revenue
from churn_pipeline.demo_data.billing import issue_invoices, update_cards
from churn_pipeline.demo_data.churn import (
    UNEXPLAINED_HAZARD,
    draw_reasons,
    voluntary_hazard,
)
from churn_pipeline.demo_data.config import DemoDataConfig
from churn_pipeline.demo_data.health import evolve_health
from churn_pipeline.demo_data.nps import draw_responses, surveyed_today
from churn_pipeline.demo_data.plan_changes import draw_plan_changes
from churn_pipeline.demo_data.records import Recorder
from churn_pipeline.demo_data.state import SimState, alive_mask
from churn_pipeline.demo_data.support import TicketBook, draw_tickets
from churn_pipeline.demo_data.timeline import Timeline
from churn_pipeline.demo_data.usage import EMA_ACTIVE_DAYS, draw_usage

PRUNE_EVERY_DAYS = 30
NO_LABEL = -1


@dataclass
class World:
    """The accounts being simulated, their state and the rows recorded so far."""

    rng: np.random.Generator
    timeline: Timeline
    accounts: Accounts
    state: SimState
    book: TicketBook
    recorder: Recorder
    config: DemoDataConfig


def run_days(world: World, first_day: int, last_day: int) -> None:
    """Simulate the days ``first_day`` to ``last_day`` (inclusive) in order."""
    for day in range(first_day, last_day + 1):
        _step(world, day)


def _step(world: World, day: int) -> None:
    """Simulate one day; cancellations come first so they end the day's activity."""
    alive = alive_mask(world.accounts, world.state, day)
    support = world.book.signals(day)
    alive &= ~_cancel(world, day, alive, support.old_open)
    idx = np.flatnonzero(alive)
    evolve_health(world.rng, world.state, world.accounts.base_health, idx, day, support)
    observed = day >= world.timeline.start_idx
    weekday_factor = float(world.timeline.weekday_factor[day])
    _use_product(world, day, idx, weekday_factor, observed)
    _open_tickets(world, day, idx, weekday_factor, observed)
    _survey(world, day, idx, observed)
    _bill(world, day, idx, observed)
    _change_plans(world, day, idx)
    if day % PRUNE_EVERY_DAYS == 0:
        world.book.prune(day)


def _cancel(
    world: World, day: int, alive: np.ndarray, old_open: np.ndarray
) -> np.ndarray:
    """Cancel accounts today; return the mask of cancelled accounts."""
    state, accounts, rng = world.state, world.accounts, world.rng
    # Dunning that ran out takes precedence over a voluntary decision.
    involuntary = np.flatnonzero(alive & (state.involuntary_day == day))
    # Nobody cancels on the day they sign up.
    deciding = alive & (accounts.signup_day < day)
    deciding[involuntary] = False
    idx = np.flatnonzero(deciding)
    drivers, warned = voluntary_hazard(
        state, accounts, idx, day, old_open, world.config.signal_strength
    )
    warned *= world.config.churn_scale
    unexplained = UNEXPLAINED_HAZARD * world.config.churn_scale
    total = warned + unexplained
    u = rng.random((idx.size, 2))
    leaving = u[:, 0] < -np.expm1(-total)
    no_warning = u[leaving, 1] * total[leaving] < unexplained
    reasons = draw_reasons(rng, drivers.take(leaving), no_warning)
    _record_cancellations(world, day, idx[leaving], cat.VOLUNTARY, reasons)
    _record_cancellations(
        world, day, involuntary, cat.INVOLUNTARY, np.int8(cat.PAYMENT_FAILURE)
    )
    cancelled = np.zeros(state.size, dtype=bool)
    cancelled[idx[leaving]] = True
    cancelled[involuntary] = True
    state.cancelled |= cancelled
    return cancelled


def _record_cancellations(
    world: World,
    day: int,
    acc: np.ndarray,
    churn_type: int,
    reason: np.ndarray | np.int8,
) -> None:
    world.recorder.add(
        "events",
        {
            "acc": acc,
            "day": day,
            "kind": cat.CANCELLATION,
            "plan": world.state.plan[acc],
            "seats": world.state.seats[acc],
            "mrr": 0.0,
            "churn_type": churn_type,
            "reason": reason,
        },
    )


def _use_product(
    world: World, day: int, idx: np.ndarray, weekday_factor: float, observed: bool
) -> None:
    state = world.state
    usage = draw_usage(
        world.rng,
        idx,
        state.health[idx],
        state.seats[idx],
        state.plan[idx],
        weekday_factor,
    )
    state.ema_active[idx] += (usage.active_users - state.ema_active[idx]) / (
        EMA_ACTIVE_DAYS
    )
    state.last_login_day[usage.idx] = day
    if not observed:
        return
    features = usage.features
    world.recorder.add(
        "usage",
        {
            "acc": usage.idx,
            "day": day,
            "logins": usage.logins,
            "active_users": usage.active_users[usage.used],
            "uses_reports": features[:, 0],
            "uses_dashboards": features[:, 1],
            "uses_integrations": features[:, 2],
            "uses_automations": features[:, 3],
        },
    )


def _open_tickets(
    world: World, day: int, idx: np.ndarray, weekday_factor: float, observed: bool
) -> None:
    state = world.state
    tickets = draw_tickets(
        world.rng,
        idx,
        state.health[idx],
        state.seats[idx],
        day - world.accounts.signup_day[idx],
        weekday_factor,
    )
    world.book.add(day, tickets)
    if observed:
        world.recorder.add_draw("tickets", day, tickets)


def _survey(world: World, day: int, idx: np.ndarray, observed: bool) -> None:
    state = world.state
    tenure = day - world.accounts.signup_day[idx]
    surveyed = surveyed_today(idx, tenure, state.nps_phase[idx])
    responders, scores = draw_responses(world.rng, surveyed, state.health[surveyed])
    state.last_nps[responders] = scores
    if observed:
        world.recorder.add("nps", {"acc": responders, "day": day, "score": scores})


def _bill(world: World, day: int, idx: np.ndarray, observed: bool) -> None:
    accounts = world.accounts
    update_cards(world.rng, world.state, accounts.pay_risk, idx)
    due = idx[world.state.next_bill_day[idx] == day]
    invoices = issue_invoices(
        world.rng,
        day,
        world.state,
        accounts.annual,
        accounts.pay_risk,
        due,
        world.timeline,
    )
    if observed:
        world.recorder.add_draw("invoices", day, invoices)


def _change_plans(world: World, day: int, idx: np.ndarray) -> None:
    state = world.state
    changes = draw_plan_changes(
        world.rng,
        idx,
        state.health[idx],
        state.plan[idx],
        state.seats[idx],
        state.ema_active[idx],
    )
    acc = changes.acc
    state.plan[acc] = changes.plan
    state.seats[acc] = changes.seats
    state.mrr[acc] = monthly_revenue(
        changes.plan, changes.seats, world.accounts.discount[acc]
    )
    world.recorder.add(
        "events",
        {
            "acc": acc,
            "day": day,
            "kind": changes.kind,
            "plan": changes.plan,
            "seats": changes.seats,
            "mrr": state.mrr[acc],
            "churn_type": NO_LABEL,
            "reason": NO_LABEL,
        },
    )
