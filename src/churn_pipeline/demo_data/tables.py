"""Turns recorded simulation rows into the six output tables (exact schema)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from churn_pipeline.demo_data import catalog as cat
from churn_pipeline.demo_data.accounts import Accounts
from churn_pipeline.demo_data.records import SCHEMAS, Recorder
from churn_pipeline.demo_data.timeline import Timeline

ACCOUNT_ID_WIDTH = 6
ROW_ID_WIDTH = 7
SECONDS_PER_DAY = 86_400
USAGE_COUNTS = tuple(name for name in SCHEMAS["usage"] if name not in ("acc", "day"))


def build_tables(
    recorder: Recorder,
    accounts: Accounts,
    timeline: Timeline,
    *,
    first_account: int = 1,
    account_id_width: int | None = None,
) -> dict[str, pd.DataFrame]:
    """Return all output tables; accounts must be in sign-up order.

    Row ids (``event_id`` etc.) always start at 1; the chunked writer renumbers
    them when it knows how many rows earlier chunks wrote.

    Args:
        recorder: Rows recorded during the simulation.
        accounts: Static account attributes, index = account number -
            ``first_account``.
        timeline: Maps day indices to dates.
        first_account: Number of the first account.
        account_id_width: Minimum digits of account ids; ``None`` means at
            least ``ACCOUNT_ID_WIDTH`` and enough for the last account.
    """
    last_account = first_account + accounts.size - 1
    if account_id_width is None:
        account_id_width = max(ACCOUNT_ID_WIDTH, len(str(last_account)))
    account_ids = format_ids("A", first_account, accounts.size, account_id_width)
    return {
        "accounts": _accounts(accounts, account_ids, timeline),
        "subscription_events": _events(recorder, account_ids, timeline),
        "usage": _usage(recorder, account_ids, timeline),
        "tickets": _tickets(recorder, account_ids, timeline),
        "invoices": _invoices(recorder, account_ids, timeline),
        "nps_responses": _nps(recorder, account_ids, timeline),
    }


def make_ids(prefix: str, n: int, width: int) -> np.ndarray:
    """Return ``n`` zero-padded ids ``prefix0..01`` as an object array."""
    return format_ids(prefix, 1, n, max(width, len(str(n))))


def format_ids(prefix: str, first: int, n: int, width: int) -> np.ndarray:
    """Return ids ``first .. first + n - 1`` zero-padded to at least ``width``.

    Numbers wider than ``width`` keep all their digits, so ids stay unique.
    """
    return np.array(
        [f"{prefix}{i:0{width}d}" for i in range(first, first + n)], dtype=object
    )


def _labels(labels: Sequence[str], codes: np.ndarray) -> np.ndarray:
    return np.asarray(labels, dtype=object)[codes]


def _dates(timeline: Timeline, day: np.ndarray) -> np.ndarray:
    return timeline.dates(day).astype("datetime64[ns]")


def _accounts(
    accounts: Accounts, account_ids: np.ndarray, timeline: Timeline
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": account_ids,
            "signup_date": _dates(timeline, accounts.signup_day),
            "plan": _labels(cat.PLANS, accounts.plan),
            "seats": accounts.seats.astype(np.int64),
            "mrr": accounts.mrr.astype(np.float64),
            "billing_cycle": _labels(cat.BILLING_CYCLES, accounts.annual.astype(int)),
            "industry": _labels(cat.INDUSTRIES, accounts.industry),
            "country": _labels(cat.COUNTRIES, accounts.country),
            "acquisition_channel": _labels(cat.CHANNELS, accounts.channel),
            "discount_pct": accounts.discount.astype(np.float64),
        }
    )


def _optional_labels(labels: Sequence[str], codes: np.ndarray) -> np.ndarray:
    """Map codes to labels; negative codes become None."""
    out = np.full(codes.size, None, dtype=object)
    known = codes >= 0
    out[known] = _labels(labels, codes[known])
    return out


def _keyed_rows(
    key: tuple[str, str],
    account_ids: np.ndarray,
    acc: np.ndarray,
    dated: tuple[str, np.ndarray],
    columns: dict[str, np.ndarray],
) -> pd.DataFrame:
    """A record table: fresh row ids, the account id and the date, then ``columns``.

    Args:
        key: Name of the id column and the ids' prefix, e.g. ``("event_id", "E")``.
        account_ids: Account id per account number.
        acc: Account number per row.
        dated: Name of the date column and its values.
        columns: The remaining columns, in table order.
    """
    name, prefix = key
    date_column, dates = dated
    return pd.DataFrame(
        {
            name: make_ids(prefix, acc.size, ROW_ID_WIDTH),
            "account_id": account_ids[acc],
            date_column: dates,
            **columns,
        }
    )


def _events(
    recorder: Recorder, account_ids: np.ndarray, timeline: Timeline
) -> pd.DataFrame:
    rows = recorder.pop_columns("events")
    order = np.lexsort((rows["acc"], rows["day"]))
    rows = {name: col[order] for name, col in rows.items()}
    return _keyed_rows(
        ("event_id", "E"),
        account_ids,
        rows["acc"],
        ("event_date", _dates(timeline, rows["day"])),
        {
            "event_type": _labels(cat.EVENT_TYPES, rows["kind"]),
            "plan": _labels(cat.PLANS, rows["plan"]),
            "seats": rows["seats"].astype(np.int64),
            "mrr": rows["mrr"].astype(np.float64),
            "churn_type": _optional_labels(cat.CHURN_TYPES, rows["churn_type"]),
            "reason": _optional_labels(cat.REASONS, rows["reason"]),
        },
    )


def _usage(
    recorder: Recorder, account_ids: np.ndarray, timeline: Timeline
) -> pd.DataFrame:
    rows = recorder.pop_columns("usage")
    account_id = account_ids[rows.pop("acc")]
    usage_date = _dates(timeline, rows.pop("day"))
    # The usage log is the big table: fill one int64 block in place instead of
    # letting pandas consolidate separate columns (a second full copy).
    counts = np.empty((account_id.size, len(rows)), dtype=np.int64)
    for position, name in enumerate(list(rows)):
        counts[:, position] = rows.pop(name)
    frame = pd.DataFrame(counts, columns=list(USAGE_COUNTS), copy=False)
    frame.insert(0, "account_id", account_id)
    frame.insert(1, "usage_date", usage_date)
    return frame


def _tickets(
    recorder: Recorder, account_ids: np.ndarray, timeline: Timeline
) -> pd.DataFrame:
    rows = recorder.pop_columns("tickets")
    seconds = rows["day"].astype(np.int64) * SECONDS_PER_DAY + rows["open_second"]
    opened = timeline.origin.astype("datetime64[s]") + seconds
    closed = opened + rows["duration_seconds"]
    last_second = (timeline.origin + timeline.end_idx + 1).astype(
        "datetime64[s]"
    ) - np.timedelta64(1, "s")
    # Tickets that close after the observation end are still open in the data.
    is_closed = (rows["duration_seconds"] >= 0) & (closed <= last_second)
    closed = np.where(is_closed, closed, np.datetime64("NaT"))
    satisfaction = np.where(is_closed, rows["satisfaction"], np.nan)
    order = np.lexsort((rows["acc"], opened))
    return _keyed_rows(
        ("ticket_id", "T"),
        account_ids,
        rows["acc"][order],
        ("opened_at", opened[order].astype("datetime64[ns]")),
        {
            "closed_at": closed[order].astype("datetime64[ns]"),
            "priority": _labels(cat.PRIORITIES, rows["priority"][order]),
            "satisfaction": satisfaction[order].astype(np.float64),
        },
    )


def _invoices(
    recorder: Recorder, account_ids: np.ndarray, timeline: Timeline
) -> pd.DataFrame:
    rows = recorder.pop_columns("invoices")
    return _keyed_rows(
        ("invoice_id", "I"),
        account_ids,
        rows["acc"],
        ("invoice_date", _dates(timeline, rows["day"])),
        {
            "amount": rows["amount"].astype(np.float64),
            "status": _labels(cat.INVOICE_STATUSES, rows["failed"].astype(int)),
            "attempts": rows["attempts"].astype(np.int64),
        },
    )


def _nps(
    recorder: Recorder, account_ids: np.ndarray, timeline: Timeline
) -> pd.DataFrame:
    rows = recorder.pop_columns("nps")
    scores = {"score": rows["score"].astype(np.int64)}
    dates = _dates(timeline, rows["day"])
    return _keyed_rows(
        ("response_id", "N"), account_ids, rows["acc"], ("response_date", dates), scores
    )
