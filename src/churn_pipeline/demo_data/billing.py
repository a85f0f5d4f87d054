"""Invoices, card failures, dunning retries and the road to involuntary churn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from churn_pipeline.demo_data.state import NO_DAY, SimState
from churn_pipeline.demo_data.timeline import Timeline

# Daily chance that a working card breaks (expiry, limit, fraud block), scaled by
# the account's payment risk (country, channel, billing cycle).
CARD_BREAK_RATE = 1 / 300
# Daily chance that a broken card gets replaced; engaged customers react faster.
CARD_FIX_RATE = 0.035
CHARGE_ATTEMPTS = 4
BAD_CARD_ATTEMPT_FAILURE = 0.85
GOOD_CARD_ATTEMPT_FAILURE = 0.03
# Chance that dunning ends in cancellation after a failed invoice: high once
# invoices fail repeatedly; one failed annual invoice is a whole year's money.
INVOLUNTARY_AFTER_REPEAT = 0.6
INVOLUNTARY_AFTER_FIRST_MONTHLY = 0.03
INVOLUNTARY_AFTER_FIRST_ANNUAL = 0.3
# Days of dunning grace between the failed invoice and the cancellation.
DUNNING_DAYS = (7, 22)


@dataclass(frozen=True)
class InvoiceDraw:
    """Invoices issued on one day."""

    acc: np.ndarray
    amount: np.ndarray
    failed: np.ndarray
    attempts: np.ndarray


def update_cards(
    rng: np.random.Generator, state: SimState, pay_risk: np.ndarray, idx: np.ndarray
) -> None:
    """Break and repair payment cards of alive accounts ``idx`` for one day."""
    u = rng.random(idx.size)
    bad = state.bad_card[idx]
    engagement = 0.5 + 1.0 / (1.0 + np.exp(-state.health[idx]))
    breaks = ~bad & (u < CARD_BREAK_RATE * pay_risk[idx])
    fixes = bad & (u < CARD_FIX_RATE * engagement)
    state.bad_card[idx] = (bad & ~fixes) | breaks


def issue_invoices(
    rng: np.random.Generator,
    day: int,
    state: SimState,
    annual: np.ndarray,
    pay_risk: np.ndarray,
    due: np.ndarray,
    timeline: Timeline,
) -> InvoiceDraw:
    """Bill accounts ``due`` on their anniversary ``day`` and schedule dunning."""
    attempt_failure = np.where(
        state.bad_card[due],
        BAD_CARD_ATTEMPT_FAILURE,
        np.minimum(GOOD_CARD_ATTEMPT_FAILURE * pay_risk[due], 0.5),
    )
    fails = rng.random((due.size, CHARGE_ATTEMPTS)) < attempt_failure[:, None]
    failed = fails.all(axis=1)
    attempts = np.where(failed, CHARGE_ATTEMPTS, np.argmin(fails, axis=1) + 1)
    months = np.where(annual[due], 12, 1)
    amount = np.round(state.mrr[due] * months, 2)
    in_row = np.minimum(state.failed_in_row[due] + 1, 100)
    state.failed_in_row[due] = np.where(failed, in_row, 0)
    _schedule_involuntary(rng, day, state, due[failed], annual[due[failed]])
    state.next_bill_month[due] += months
    state.next_bill_day[due] = timeline.billing_day(
        state.next_bill_month[due], state.bill_day_of_month[due]
    )
    return InvoiceDraw(acc=due, amount=amount, failed=failed, attempts=attempts)


def _schedule_involuntary(
    rng: np.random.Generator,
    day: int,
    state: SimState,
    failed: np.ndarray,
    annual: np.ndarray,
) -> None:
    first_failure = np.where(
        annual, INVOLUNTARY_AFTER_FIRST_ANNUAL, INVOLUNTARY_AFTER_FIRST_MONTHLY
    )
    chance = np.where(
        state.failed_in_row[failed] >= 2, INVOLUNTARY_AFTER_REPEAT, first_failure
    )
    grace = rng.integers(*DUNNING_DAYS, size=failed.size)
    chosen = (rng.random(failed.size) < chance) & (
        state.involuntary_day[failed] == NO_DAY
    )
    state.involuntary_day[failed[chosen]] = day + grace[chosen]
