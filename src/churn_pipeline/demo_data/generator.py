"""Seeded day-by-day simulation of a SaaS customer base.

Every account carries a latent health (see ``health``) that drives what a
customer-success team can observe: usage, tickets, NPS, plan changes. Voluntary
churn follows from those warning signs (``churn``); involuntary churn follows
from failed payments (``billing``). All accounts are simulated together with
numpy arrays, one day at a time; ``writer`` runs the same simulation per chunk of
accounts to reach a million accounts in bounded memory.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from churn_pipeline.demo_data import catalog as cat
from churn_pipeline.demo_data.accounts import Accounts, draw_accounts, monthly_revenue
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
from churn_pipeline.demo_data.state import NO_DAY, SimState, alive_mask, init_state
from churn_pipeline.demo_data.support import TicketBook, draw_tickets
from churn_pipeline.demo_data.tables import build_tables
from churn_pipeline.demo_data.timeline import Timeline
from churn_pipeline.demo_data.usage import EMA_ACTIVE_DAYS, draw_usage

logger = logging.getLogger(__name__)

# Existing customers are the survivors of a larger pre-start cohort (pre-start
# churners are dropped), so the base at start_date is realistically selected.
CANDIDATE_FACTOR = 2.0
MAX_CANDIDATE_FACTOR = 64.0
PRUNE_EVERY_DAYS = 30
NO_LABEL = -1


@dataclass
class _World:
    rng: np.random.Generator
    timeline: Timeline
    accounts: Accounts
    state: SimState
    book: TicketBook
    recorder: Recorder
    config: DemoDataConfig


def generate_demo_data(config: DemoDataConfig) -> dict[str, pd.DataFrame]:
    """Simulate accounts, subscription events, usage, tickets, invoices and NPS.

    Deterministic for a given config: the same seed gives identical frames.

    Args:
        config: Size, observation window, seed and signal knobs.

    Returns:
        Tables ``accounts``, ``subscription_events``, ``usage``, ``tickets``,
        ``invoices`` and ``nps_responses``.
    """
    began = time.perf_counter()
    tables = simulate_tables(config, np.random.default_rng(config.seed))
    logger.info(
        "Simulated %d accounts over %s..%s in %.1f s: %s",
        config.n_accounts,
        config.start_date,
        config.end_date,
        time.perf_counter() - began,
        ", ".join(f"{name}={len(df)}" for name, df in tables.items()),
    )
    return tables


def simulate_tables(
    config: DemoDataConfig,
    rng: np.random.Generator,
    *,
    first_account: int = 1,
    account_id_width: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Simulate ``config.n_accounts`` accounts drawing from ``rng``.

    :func:`generate_demo_data` is this with ``default_rng(config.seed)``; the
    chunked writer calls it once per chunk with the chunk's own generator.

    Args:
        config: Size, observation window and signal knobs (``seed`` is unused:
            the randomness comes from ``rng``).
        rng: Random generator; consumed in a fixed order, so the same generator
            state gives the same tables.
        first_account: Number of the first account (``A000001`` is 1); later
            chunks continue the numbering of earlier ones.
        account_id_width: Digits of account ids; ``None`` fits ``n_accounts``.

    Returns:
        The six tables, as :func:`generate_demo_data` returns them.
    """
    timeline = Timeline.build(config.start, config.end)
    n_existing = round(config.n_accounts * config.existing_share)
    history = _simulate_history(rng, timeline, n_existing, config)
    window = (timeline.start_idx, timeline.end_idx)
    newcomers = _fresh_world(
        rng, timeline, config.n_accounts - n_existing, window, config
    )
    world = _join(history, newcomers)
    _run(world, timeline.start_idx, timeline.end_idx)
    return build_tables(
        world.recorder,
        world.accounts,
        timeline,
        first_account=first_account,
        account_id_width=account_id_width,
    )


def _simulate_history(
    rng: np.random.Generator,
    timeline: Timeline,
    n_existing: int,
    config: DemoDataConfig,
) -> _World:
    """Simulate the year before start_date and keep ``n_existing`` survivors."""
    factor = CANDIDATE_FACTOR
    while True:
        n_candidates = math.ceil(n_existing * factor) + 10 if n_existing else 0
        world = _fresh_world(
            rng, timeline, n_candidates, (0, timeline.start_idx - 1), config
        )
        if n_candidates:
            _run(world, 0, timeline.start_idx - 1)
        # A customer already in dunning would cancel without a visible failed
        # invoice, so it does not count as a survivor.
        survived = ~world.state.cancelled & (world.state.involuntary_day == NO_DAY)
        survivors = np.flatnonzero(survived)
        if survivors.size >= n_existing:
            break
        if factor >= MAX_CANDIDATE_FACTOR:
            raise RuntimeError("Too few accounts survive; lower churn_scale.")
        logger.debug("Only %d survivors, drawing more candidates", survivors.size)
        factor *= 2
    keep = np.sort(rng.choice(survivors, size=n_existing, replace=False))
    new_index = np.full(n_candidates, -1, dtype=np.int64)
    new_index[keep] = np.arange(n_existing)
    world.recorder.remap_accounts(new_index)
    world.accounts = world.accounts.take(keep)
    world.state = world.state.take(keep)
    # Surveys before start_date are not in the data, so the hazard must not
    # react to them.
    world.state.last_nps[:] = np.nan
    return world


def _fresh_world(
    rng: np.random.Generator,
    timeline: Timeline,
    n: int,
    signup_days: tuple[int, int],
    config: DemoDataConfig,
) -> _World:
    """Return ``n`` new accounts signing up within ``signup_days`` (inclusive)."""
    accounts = draw_accounts(rng, n, *signup_days)
    return _World(
        rng=rng,
        timeline=timeline,
        accounts=accounts,
        state=init_state(rng, accounts, timeline),
        book=TicketBook(n),
        recorder=Recorder(),
        config=config,
    )


def _join(history: _World, newcomers: _World) -> _World:
    """Continue the history with the newcomers appended (sign-up order kept).

    Tickets opened before start_date are not in the data either, so the new
    ticket book leaves them out.
    """
    return _World(
        rng=history.rng,
        timeline=history.timeline,
        accounts=history.accounts.concat(newcomers.accounts),
        state=history.state.concat(newcomers.state),
        book=TicketBook(history.accounts.size + newcomers.accounts.size),
        recorder=history.recorder,
        config=history.config,
    )


def _run(world: _World, first_day: int, last_day: int) -> None:
    for day in range(first_day, last_day + 1):
        _step(world, day)


def _step(world: _World, day: int) -> None:
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
    world: _World, day: int, alive: np.ndarray, old_open: np.ndarray
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
    world: _World,
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
    world: _World, day: int, idx: np.ndarray, weekday_factor: float, observed: bool
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
    world: _World, day: int, idx: np.ndarray, weekday_factor: float, observed: bool
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
        world.recorder.add(
            "tickets",
            {
                "acc": tickets.acc,
                "day": day,
                "open_second": tickets.open_second,
                "duration_seconds": tickets.duration_seconds,
                "priority": tickets.priority,
                "satisfaction": tickets.satisfaction,
            },
        )


def _survey(world: _World, day: int, idx: np.ndarray, observed: bool) -> None:
    state = world.state
    tenure = day - world.accounts.signup_day[idx]
    surveyed = surveyed_today(idx, tenure, state.nps_phase[idx])
    responders, scores = draw_responses(world.rng, surveyed, state.health[surveyed])
    state.last_nps[responders] = scores
    if observed:
        world.recorder.add("nps", {"acc": responders, "day": day, "score": scores})


def _bill(world: _World, day: int, idx: np.ndarray, observed: bool) -> None:
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
        world.recorder.add(
            "invoices",
            {
                "acc": invoices.acc,
                "day": day,
                "amount": invoices.amount,
                "failed": invoices.failed,
                "attempts": invoices.attempts,
            },
        )


def _change_plans(world: _World, day: int, idx: np.ndarray) -> None:
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
