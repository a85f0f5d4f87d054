"""Contract subscription events from subscription periods and churn events.

Exports often hold subscriptions as periods (start, end, plan, seats, MRR) plus
a separate list of churn events. The contract wants dated changes. The reading
here, account by account in date order, starting active:

- a churn event is a ``cancellation``, unless it is flagged as a reactivation,
  in which case it is a ``reactivation`` (reactivations are not churn);
- a period that starts while the account is cancelled brings it back: a
  ``reactivation`` with that period's plan, seats and MRR;
- a period that starts while active with another plan is an ``upgrade`` or
  ``downgrade`` (by the order of ``allowed_values.plan``), with the same plan but
  other seats a ``seat_change``; with the same plan and seats it is a renewal and
  yields no event;
- the account's first period sets its terms at signup and yields no event (a
  churn event dated before it leaves those terms; the first period then brings
  the account back).

Every churn event yields exactly one contract event (with its id), so the
contract's own rules judge it: a second cancellation without a reactivation in
between is rejected there as out of sequence, never dropped here. Period end
dates are not read as churn here: exports often leave periods open after a
cancellation, and the churn events say when customers left. With
``ingestion.churn.source: gap`` the churn events are themselves derived from
the periods' ends first (gaps.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from churn_pipeline.validation.lifecycle import CANCELLATION, REACTIVATION

logger = logging.getLogger(__name__)

EVENT_COLUMNS = (
    "event_id",
    "account_id",
    "event_date",
    "event_type",
    "plan",
    "seats",
    "mrr",
    "churn_type",
    "reason",
)
_TERMS = ("plan", "seats", "mrr")
# How a source row was used; the accounting sums them per source.
_USES = (
    "periods_first",
    "periods_changes",
    "periods_reactivations",
    "periods_renewals",
    "churn_events_cancellations",
    "churn_events_reactivations",
)


def _timeline(subscriptions: pd.DataFrame, churn_events: pd.DataFrame) -> pd.DataFrame:
    """Period starts and churn events of every account, in processing order."""
    starts = pd.DataFrame(
        {
            "source_id": subscriptions["subscription_id"],
            "account_id": subscriptions["account_id"],
            "date": subscriptions["start_date"],
            "kind": "start",
            "plan": subscriptions["plan"],
            "seats": subscriptions["seats"],
            "mrr": subscriptions["mrr"].astype(float),
            # Same day: the new period is in force before the account leaves.
            "order": 0,
        }
    )
    flagged = churn_events["is_reactivation"].astype(bool)
    churns = pd.DataFrame(
        {
            "source_id": churn_events["churn_event_id"],
            "account_id": churn_events["account_id"],
            "date": churn_events["churn_date"],
            "kind": flagged.map({True: REACTIVATION, False: CANCELLATION}),
            "churn_type": churn_events["churn_type"],
            "reason": churn_events["reason"],
            "order": 1,
        }
    )
    timeline = pd.concat([starts, churns], ignore_index=True)
    return timeline.sort_values(
        ["account_id", "date", "order", "source_id"], kind="stable"
    ).reset_index(drop=True)


def _change_type(
    old: dict[str, Any], new: dict[str, Any], plan_rank: dict[str, int]
) -> str | None:
    if new["plan"] != old["plan"]:
        return (
            "upgrade"
            if plan_rank[new["plan"]] > plan_rank[old["plan"]]
            else "downgrade"
        )
    if new["seats"] != old["seats"]:
        return "seat_change"
    return None


def derive_subscription_events(
    subscriptions: pd.DataFrame,
    churn_events: pd.DataFrame,
    *,
    plan_order: Sequence[str],
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Derive contract subscription events (see the module docstring).

    Args:
        subscriptions: Validated periods (``subscription_id``, ``account_id``,
            ``start_date``, ``plan``, ``seats``, ``mrr``).
        churn_events: Validated churn events (``churn_event_id``,
            ``account_id``, ``churn_date``, ``churn_type``, ``reason``,
            ``is_reactivation``).
        plan_order: Plans from cheapest to dearest (upgrade vs downgrade).

    Returns:
        The events in the contract's columns, and how every source row was
        used: ``periods_*`` (first, changes, reactivations, renewals) sum to the
        periods in, ``churn_events_*`` (cancellations, reactivations) to the
        churn events in.

    Raises:
        RuntimeError: If the accounting does not add up.
    """
    plan_rank = {plan: rank for rank, plan in enumerate(plan_order)}
    first_ids, state = _signup_terms(subscriptions)
    rows: list[dict[str, Any]] = []
    used = dict.fromkeys(_USES, 0)
    # Sequential on purpose: what a row means depends on the rows before it.
    for item in _timeline(subscriptions, churn_events).itertuples(index=False):
        if item.kind == "start":
            row, use = _period_start(
                item, state[item.account_id], item.source_id in first_ids, plan_rank
            )
            state[item.account_id] = {**_terms_of(item), "active": True}
        else:
            # An account without any period has no terms: the contract rejects.
            account = state.get(item.account_id) or dict.fromkeys(_TERMS)
            row, use = _churn_event(item, account)
            state[item.account_id] = {**account, "active": item.kind == REACTIVATION}
        used[use] += 1
        if row is not None:
            rows.append(row)
    _check_accounting(used, len(subscriptions), len(churn_events))
    events = pd.DataFrame(rows, columns=list(EVENT_COLUMNS))
    logger.info("Derived %d subscription events: %s", len(events), used)
    return events, used


def _signup_terms(
    subscriptions: pd.DataFrame,
) -> tuple[set[str], dict[str, dict[str, Any]]]:
    """The ids of every account's first period, and each account's state then.

    Every account starts active on its first period's terms.
    """
    first = subscriptions.sort_values(
        ["start_date", "subscription_id"], kind="stable"
    ).drop_duplicates("account_id")
    state = {
        row.account_id: {**_terms_of(row), "active": True}
        for row in first.itertuples(index=False)
    }
    return set(first["subscription_id"]), state


def _terms_of(row: Any) -> dict[str, Any]:
    """A period's plan, seats and MRR."""
    return {name: getattr(row, name) for name in _TERMS}


def _source_event(item: Any) -> dict[str, Any]:
    """The columns every derived event takes from its source row."""
    return {
        "event_id": item.source_id,
        "account_id": item.account_id,
        "event_date": item.date,
    }


def _period_start(
    item: Any, account: dict[str, Any], is_first: bool, plan_rank: dict[str, int]
) -> tuple[dict[str, Any] | None, str]:
    """The event a period's start yields (``None``: none), and how it was used."""
    terms = _terms_of(item)
    if not account["active"]:
        return (
            {**_source_event(item), "event_type": REACTIVATION, **terms},
            "periods_reactivations",
        )
    if is_first:
        return None, "periods_first"
    if (change := _change_type(account, terms, plan_rank)) is not None:
        return {**_source_event(item), "event_type": change, **terms}, "periods_changes"
    return None, "periods_renewals"


def _churn_event(item: Any, account: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The event a churn event yields on the account's terms, and how it was used."""
    if item.kind == CANCELLATION:
        row = {
            **_source_event(item),
            "event_type": CANCELLATION,
            "plan": account["plan"],
            "seats": account["seats"],
            "mrr": 0.0,
            "churn_type": item.churn_type,
            "reason": item.reason,
        }
        return row, "churn_events_cancellations"
    terms = {name: account[name] for name in _TERMS}
    row = {**_source_event(item), "event_type": REACTIVATION, **terms}
    return row, "churn_events_reactivations"


def _check_accounting(used: dict[str, int], periods: int, churns: int) -> None:
    from_periods = sum(v for k, v in used.items() if k.startswith("periods_"))
    from_churns = sum(v for k, v in used.items() if k.startswith("churn_events_"))
    if (from_periods, from_churns) != (periods, churns):
        raise RuntimeError(
            f"Deriving events lost rows: {periods} periods -> {from_periods}, "
            f"{churns} churn events -> {from_churns}"
        )


def account_terms(accounts: pd.DataFrame, subscriptions: pd.DataFrame) -> pd.DataFrame:
    """Add each account's MRR and billing cycle at signup: its first period's.

    Args:
        accounts: Source accounts (any columns, ``account_id`` among them).
        subscriptions: Validated periods.

    Returns:
        ``accounts`` with ``mrr`` and ``billing_cycle``; an account without any
        period gets nulls, which the contract's rules then reject by name.

    Raises:
        ValueError: If ``accounts`` already has either column.
    """
    clash = sorted({"mrr", "billing_cycle"} & set(accounts.columns))
    if clash:
        raise ValueError(f"Source accounts already have {clash}; map them instead")
    first = (
        subscriptions.sort_values(["start_date", "subscription_id"], kind="stable")
        .drop_duplicates("account_id")
        .set_index("account_id")[["mrr", "billing_cycle"]]
    )
    return accounts.join(first, on="account_id")
