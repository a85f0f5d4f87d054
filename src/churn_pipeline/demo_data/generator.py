"""Seeded day-by-day simulation of a SaaS customer base.

Every account carries a latent health (see ``health``) that drives what a
customer-success team can observe: usage, tickets, NPS, plan changes. Voluntary
churn follows from those warning signs (``churn``); involuntary churn follows
from failed payments (``billing``). All accounts are simulated together with
numpy arrays, one day at a time (``day``); ``writer`` runs the same simulation
per chunk of accounts to reach a million accounts in bounded memory.

The data look like a CRM export of a business that has traded for years: the
accounts that are customers at ``start_date`` signed up over the burn-in years
before it (``timeline.HISTORY_DAYS``) and were simulated from their signup with
the same rules, so the base has every age and churns at its steady rate from the
first observed day. The export holds the accounts that were customers on or
after ``start_date``, with their plan changes since signup; their usage, tickets,
invoices and surveys start at ``start_date``, like logs kept for a limited time.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import pandas as pd

from churn_pipeline.demo_data.accounts import draw_accounts
from churn_pipeline.demo_data.config import DemoDataConfig
from churn_pipeline.demo_data.day import World, run_days
from churn_pipeline.demo_data.records import Recorder
from churn_pipeline.demo_data.state import NO_DAY, init_state
from churn_pipeline.demo_data.support import TicketBook
from churn_pipeline.demo_data.tables import build_tables
from churn_pipeline.demo_data.timeline import Timeline

logger = logging.getLogger(__name__)

# Existing customers are the survivors of a larger cohort that signed up over
# the burn-in years (its churners are dropped), so the base at start_date has
# every age and is selected the way a real customer base is. About 60 % of
# three years' sign-ups survive, so two candidates per survivor rarely need a
# retry.
CANDIDATE_FACTOR = 2.0
MAX_CANDIDATE_FACTOR = 64.0


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
    run_days(world, timeline.start_idx, timeline.end_idx)
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
) -> World:
    """Simulate the burn-in years before start_date; keep ``n_existing`` survivors."""
    factor = CANDIDATE_FACTOR
    while True:
        n_candidates = math.ceil(n_existing * factor) + 10 if n_existing else 0
        world = _fresh_world(
            rng, timeline, n_candidates, (0, timeline.start_idx - 1), config
        )
        if n_candidates:
            run_days(world, 0, timeline.start_idx - 1)
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
) -> World:
    """Return ``n`` new accounts signing up within ``signup_days`` (inclusive)."""
    accounts = draw_accounts(rng, n, *signup_days)
    return World(
        rng=rng,
        timeline=timeline,
        accounts=accounts,
        state=init_state(rng, accounts, timeline),
        book=TicketBook(n),
        recorder=Recorder(),
        config=config,
    )


def _join(history: World, newcomers: World) -> World:
    """Continue the history with the newcomers appended (sign-up order kept).

    Tickets opened before start_date are not in the data either, so the new
    ticket book leaves them out.
    """
    return World(
        rng=history.rng,
        timeline=history.timeline,
        accounts=history.accounts.concat(newcomers.accounts),
        state=history.state.concat(newcomers.state),
        book=TicketBook(history.accounts.size + newcomers.accounts.size),
        recorder=history.recorder,
        config=history.config,
    )
