"""Churn analytics: monthly churn rates, segments, cohort retention and NPS.

All functions read the validated contract tables (``accounts``,
``subscription_events``, ``nps_responses``) and never modify them.

Timing convention: an account's state "at" an instant counts only the events
dated strictly before it. A month's start is its first day at 00:00, so a signup,
plan change or cancellation dated on the 1st belongs to that month, not to the
state at its start.

Reported window: the functions take an optional first month ``start``; the
report passes :func:`churn_record_start`, so months in which the data cannot
show churn are left out (see there).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

from churn_pipeline.reporting.account_states import (
    MonthGrid,
    prepare,
    rate,
    require_columns,
    state_at,
)
from churn_pipeline.validation.lifecycle import CANCELLATION

logger = logging.getLogger(__name__)

SEGMENT_BY = ("plan", "tenure")
DEFAULT_TENURE_BANDS = (0, 3, 6, 12, 24)
NPS_SCORES = range(11)

MONTHLY_COLUMNS = [
    "month",
    "accounts_start",
    "mrr_start",
    "cancellations",
    "voluntary",
    "involuntary",
    "mrr_churned",
    "mrr_contraction",
    "logo_churn_rate",
    "revenue_churn_rate",
    "voluntary_rate",
    "involuntary_rate",
]
SEGMENT_COLUMNS = [
    "month",
    "segment",
    "accounts_start",
    "cancellations",
    "logo_churn_rate",
]


def churn_record_start(events: pd.DataFrame) -> pd.Timestamp | None:
    """Start of the month of the first recorded cancellation, if any.

    Exports often hold only the accounts that were customers when the record
    began, with signups years earlier (the demo data do, like a CRM export of
    current customers). Before the first recorded cancellation such data show
    0 % churn and 100 % cohort retention because the churners were left out, not
    because nobody churned. Data with a complete record lose only the months
    before their first cancellation, whose churn was 0 % anyway.

    Args:
        events: The ``subscription_events`` contract table.

    Returns:
        The month start, or ``None`` when no cancellation is recorded.
    """
    require_columns(events, ("event_date", "event_type"), "subscription_events")
    dates = pd.to_datetime(
        events.loc[events["event_type"] == CANCELLATION, "event_date"]
    )
    if dates.empty:
        return None
    return dates.min().to_period("M").to_timestamp()


def _from(table: pd.DataFrame, start: pd.Timestamp | None) -> pd.DataFrame:
    """Rows whose ``month`` is on or after ``start`` (all when ``None``)."""
    if start is None:
        return table
    return table[table["month"] >= pd.Timestamp(start)].reset_index(drop=True)


def monthly_churn(
    accounts: pd.DataFrame,
    events: pd.DataFrame,
    *,
    end: pd.Timestamp,
    start: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Logo and gross revenue churn per complete calendar month.

    The denominator of a month is the accounts active at its first day 00:00:
    signed up before that day and not cancelled (a reactivated account counts
    again). An account that signs up during a month is not in that month's
    denominator, so a cancellation in its signup month is not counted anywhere.
    An account that cancels more than once in a month is one lost logo; one that
    cancels and comes back within the month still counts as churned.

    Args:
        accounts: The ``accounts`` contract table.
        events: The ``subscription_events`` contract table.
        end: Last observed day; only months whose last day is on or before it.
        start: First month reported (a month start), e.g.
            :func:`churn_record_start`; ``None`` reports every month.

    Returns:
        One row per month from the first month starting on/after the earliest
        signup (and not before ``start``), with the columns of
        :data:`MONTHLY_COLUMNS`. ``mrr_churned`` is
        the start MRR of the churned accounts; ``mrr_contraction`` is
        ``max(0, start MRR - end MRR)`` summed over accounts active at start that
        did not cancel. ``revenue_churn_rate`` is gross:
        ``(mrr_churned + mrr_contraction) / mrr_start``. Every rate is 0.0 in a
        month whose denominator is 0. Empty (same columns) if no month is complete.
    """
    grid = MonthGrid(accounts, events, end)
    churned_mrr = np.where(grid.cancelled, grid.mrr_start, 0.0)
    kept = grid.active_start & ~grid.cancelled
    contraction = np.where(kept, np.maximum(grid.mrr_start - grid.mrr_end, 0.0), 0.0)
    table = pd.DataFrame(
        {
            "month": grid.months,
            "accounts_start": grid.active_start.sum(axis=0),
            "mrr_start": grid.mrr_start.sum(axis=0),
            "cancellations": grid.cancelled.sum(axis=0),
            "voluntary": grid.voluntary.sum(axis=0),
            "involuntary": grid.involuntary.sum(axis=0),
            "mrr_churned": churned_mrr.sum(axis=0),
            "mrr_contraction": contraction.sum(axis=0),
        }
    )
    base = table["accounts_start"]
    table["logo_churn_rate"] = rate(table["cancellations"], base)
    table["revenue_churn_rate"] = rate(
        table["mrr_churned"] + table["mrr_contraction"], table["mrr_start"]
    )
    table["voluntary_rate"] = rate(table["voluntary"], base)
    table["involuntary_rate"] = rate(table["involuntary"], base)
    table = _from(table, start)
    logger.info(
        "Monthly churn over %d months: mean logo churn %.2f %%",
        len(table),
        100 * table["logo_churn_rate"].mean() if len(table) else 0.0,
    )
    return table[MONTHLY_COLUMNS]


def _band_labels(tenure_bands: Sequence[int]) -> list[str]:
    bands = list(tenure_bands)
    if not bands or bands[0] != 0 or any(b <= a for a, b in pairwise(bands)):
        raise ValueError(
            f"tenure_bands must start at 0 and increase strictly, got {tenure_bands!r}"
        )
    inner = [f"{low}-{high} m" for low, high in pairwise(bands)]
    return [*inner, f"{bands[-1]}+ m"]


def churn_by_segment(
    accounts: pd.DataFrame,
    events: pd.DataFrame,
    *,
    end: pd.Timestamp,
    by: str,
    tenure_bands: Sequence[int] = DEFAULT_TENURE_BANDS,
    start: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Monthly logo churn per segment, with the denominators of :func:`monthly_churn`.

    Args:
        accounts: The ``accounts`` contract table.
        events: The ``subscription_events`` contract table.
        end: Last observed day; only complete months are reported.
        by: ``"plan"`` (plan at month start) or ``"tenure"`` (whole months since
            signup at month start, banded by ``tenure_bands``).
        tenure_bands: Band edges in months, starting at 0; ``(0, 3, 6)`` gives
            ``"0-3 m"`` (0 to 2 whole months), ``"3-6 m"`` and ``"6+ m"``.
        start: First month reported, as in :func:`monthly_churn`.

    Returns:
        The columns of :data:`SEGMENT_COLUMNS`, one row per month and segment
        (every segment in every month, zeros included), so per month the
        segments sum to the totals of :func:`monthly_churn`. Plans are sorted by
        name, bands by tenure; the rate is 0.0 where ``accounts_start`` is 0.

    Raises:
        ValueError: If ``by`` is not one of :data:`SEGMENT_BY` or the bands are
            invalid.
    """
    if by not in SEGMENT_BY:
        raise ValueError(f"unknown by={by!r}; allowed values: {list(SEGMENT_BY)}")
    labels = _band_labels(tenure_bands) if by == "tenure" else []
    grid = MonthGrid(accounts, events, end)
    account_index, month_index = np.nonzero(grid.active_start)
    if by == "plan":
        segment = grid.plan_start[account_index, month_index]
        labels = sorted(set(segment))
    else:
        tenure = grid.tenure_months()[account_index, month_index]
        edges = [*tenure_bands, np.inf]
        segment = pd.cut(tenure, bins=edges, right=False, labels=labels)
    rows = pd.DataFrame(
        {
            "month": grid.months[month_index],
            "segment": np.asarray(segment, dtype=object),
            "accounts_start": 1,
            "cancellations": grid.cancelled[account_index, month_index].astype(int),
        }
    )
    full = pd.MultiIndex.from_product([grid.months, labels], names=["month", "segment"])
    table = (
        rows.groupby(["month", "segment"])[["accounts_start", "cancellations"]]
        .sum()
        .reindex(full, fill_value=0)
        .reset_index()
    )
    table["logo_churn_rate"] = rate(table["cancellations"], table["accounts_start"])
    return _from(table, start)[SEGMENT_COLUMNS]


def month_column(k: int) -> str:
    """Name of the retention column ``k`` months after signup."""
    return f"month_{k}"


def cohort_retention(
    accounts: pd.DataFrame,
    events: pd.DataFrame,
    *,
    end: pd.Timestamp,
    max_months: int = 12,
    start: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Share of each signup-month cohort active k calendar months after signup.

    An account counts as retained at month k if it is active at
    ``signup_date + k`` months (exact calendar months), i.e. not in a cancelled
    stretch then; a reactivated account counts again.

    Args:
        accounts: The ``accounts`` contract table; signups after ``end`` are left
            out.
        events: The ``subscription_events`` contract table.
        end: Last observed day.
        max_months: Largest k reported.
        start: Earliest signup whose cohort is reported (e.g.
            :func:`churn_record_start`); ``None`` reports every cohort.

    Returns:
        Index ``cohort`` (month start of the signups), a ``cohort_size`` column
        and columns ``month_0..month_<max_months>`` with the retained share
        (text names, so the table stores as Parquet). Month 0 is
        1.0. A cell is NaN when, for some account of the cohort, ``signup_date +
        k`` months is after ``end``: not observed yet, not zero retention.

    Raises:
        ValueError: If ``max_months`` is negative.
    """
    if max_months < 0:
        raise ValueError(f"max_months must be >= 0, got {max_months!r}")
    end = pd.Timestamp(end)
    everyone, ev = prepare(accounts, events)
    acc = everyone[everyone["signup"] <= end]
    if start is not None:
        # Cohorts of unrecorded churn would read as fully retained.
        acc = acc[acc["signup"] >= pd.Timestamp(start)]
    ks = np.arange(max_months + 1)
    # One vectorised date shift per k: a loop over months, not over accounts.
    at = np.concatenate(
        [(acc["signup"] + pd.DateOffset(months=int(k))).to_numpy() for k in ks]
    )
    codes = np.tile(acc["code"].to_numpy(), len(ks))
    cancelled, _, _ = state_at(everyone, ev, codes, at)
    cohort = np.tile(acc["signup"].dt.to_period("M").dt.to_timestamp(), len(ks))
    long = pd.DataFrame(
        {
            "cohort": cohort,
            "k": np.repeat(ks, len(acc)),
            "active": ~cancelled,
            "unobserved": at > end.to_datetime64(),
        }
    )
    grouped = long.groupby(["cohort", "k"]).agg(
        share=("active", "mean"), unobserved=("unobserved", "any")
    )
    share = grouped["share"].mask(grouped["unobserved"]).unstack("k")
    share = share.reindex(columns=ks)
    share.columns = [month_column(int(k)) for k in ks]
    sizes = acc.groupby(acc["signup"].dt.to_period("M").dt.to_timestamp()).size()
    share.insert(0, "cohort_size", sizes.reindex(share.index).to_numpy())
    share.index.name = "cohort"
    logger.info("Cohort retention: %d cohorts, %d months", len(share), max_months)
    return share


def nps_category(score: int) -> str:
    """Detractor (0-6), passive (7-8) or promoter (9-10)."""
    if score >= 9:
        return "promoter"
    return "passive" if score >= 7 else "detractor"


def net_promoter_score(scores: Sequence[float] | np.ndarray | pd.Series) -> float:
    """Share of promoters minus share of detractors, in points (-100 to 100).

    Raises:
        ValueError: If there are no scores, or a score is missing or not in 0-10.
    """
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        raise ValueError("net_promoter_score needs at least one score, got none")
    if np.isnan(values).any() or ((values < 0) | (values > 10)).any():
        raise ValueError("NPS scores must be numbers from 0 to 10")
    return float(100 * ((values >= 9).mean() - (values <= 6).mean()))


def nps_distribution(
    nps_responses: pd.DataFrame, *, end: pd.Timestamp, window_days: int = 365
) -> pd.DataFrame:
    """Answers per score 0-10 within the ``window_days`` days up to ``end``.

    Args:
        nps_responses: The ``nps_responses`` contract table.
        end: Last day of the window (included).
        window_days: Window length; answers dated in ``(end - window, end]``.

    Returns:
        Eleven rows with columns ``score``, ``category`` (see
        :func:`nps_category`), ``count`` and ``share`` (of the window's answers;
        0.0 for every score when the window holds no answer).

    Raises:
        ValueError: If ``window_days`` is not positive or columns are missing.
    """
    if window_days <= 0:
        raise ValueError(f"window_days must be positive, got {window_days!r}")
    require_columns(nps_responses, ("response_date", "score"), "nps_responses")
    end = pd.Timestamp(end)
    dates = pd.to_datetime(nps_responses["response_date"])
    inside = (dates > end - pd.Timedelta(days=window_days)) & (dates <= end)
    counts = (
        nps_responses.loc[inside, "score"]
        .astype(int)
        .value_counts()
        .reindex(NPS_SCORES, fill_value=0)
    )
    table = pd.DataFrame(
        {
            "score": list(NPS_SCORES),
            "category": [nps_category(score) for score in NPS_SCORES],
            "count": counts.to_numpy(),
        }
    )
    table["share"] = rate(table["count"], np.full(len(table), table["count"].sum()))
    return table
