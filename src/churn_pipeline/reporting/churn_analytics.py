"""Churn analytics: monthly churn rates, segments, cohort retention and NPS.

All functions read the validated contract tables (``accounts``,
``subscription_events``, ``nps_responses``) and never modify them.

Timing convention: an account's state "at" an instant counts only the events
dated strictly before it. A month's start is its first day at 00:00, so a signup,
plan change or cancellation dated on the 1st belongs to that month, not to the
state at its start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

from churn_pipeline.validation.lifecycle import CANCELLATION, LIFECYCLE_EVENTS

logger = logging.getLogger(__name__)

VOLUNTARY = "voluntary"
INVOLUNTARY = "involuntary"
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

_ACCOUNT_COLUMNS = ("account_id", "signup_date", "plan", "mrr")
_EVENT_COLUMNS = ("account_id", "event_date", "event_type", "plan", "mrr", "churn_type")


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} lacks columns {missing}; available: {list(frame.columns)}"
        )


def _rate(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Ratio that is 0.0 where the denominator is 0 (nothing could churn)."""
    numerator = np.asarray(numerator, dtype=float)
    denominator = np.asarray(denominator, dtype=float)
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _prepare(
    accounts: pd.DataFrame, events: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Copies keyed by account position, dates in ns, events in date order."""
    _require(accounts, _ACCOUNT_COLUMNS, "accounts")
    _require(events, _EVENT_COLUMNS, "subscription_events")
    acc = pd.DataFrame(
        {
            "code": np.arange(len(accounts)),
            "signup": pd.to_datetime(accounts["signup_date"].to_numpy()).astype(
                "datetime64[ns]"
            ),
            "plan": accounts["plan"].to_numpy(),
            "mrr": accounts["mrr"].to_numpy(dtype=float),
        }
    )
    # Integer codes make the as-of joins cheap and dtype-proof.
    codes = pd.Index(accounts["account_id"]).get_indexer(events["account_id"])
    ev = pd.DataFrame(
        {
            "code": codes,
            "event_date": pd.to_datetime(events["event_date"].to_numpy()).astype(
                "datetime64[ns]"
            ),
            "event_type": events["event_type"].to_numpy(),
            "plan": events["plan"].to_numpy(),
            "mrr": events["mrr"].to_numpy(dtype=float),
            "churn_type": events["churn_type"].to_numpy(),
        }
    )
    if (codes < 0).any():
        logger.warning("Ignoring %d events of unknown accounts", int((codes < 0).sum()))
        ev = ev[codes >= 0]
    # Stable, like the contract's alternation check: same-day events keep file order.
    return acc, ev.sort_values("event_date", kind="stable", ignore_index=True)


def _last_before(
    lookups: pd.DataFrame, events: pd.DataFrame, columns: list[str]
) -> pd.DataFrame:
    """Columns of each account's last event strictly before each lookup instant."""
    left = lookups[["code", "at"]].assign(row=np.arange(len(lookups)))
    left = left.sort_values("at", kind="stable")
    merged = pd.merge_asof(
        left,
        events[["code", "event_date", *columns]],
        left_on="at",
        right_on="event_date",
        by="code",
        direction="backward",
        allow_exact_matches=False,
    )
    return merged.set_index("row").sort_index()[columns]


def _state_at(
    acc: pd.DataFrame, ev: pd.DataFrame, codes: np.ndarray, at: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whether each account is cancelled at each instant, and its plan and MRR.

    Returns:
        ``cancelled`` (bool), ``plan`` and ``mrr``, one entry per lookup; plan and
        MRR are those after the last event, or at signup if there is none.
    """
    lookups = pd.DataFrame({"code": codes, "at": at})
    # Lifecycle state from lifecycle events only: a plan change filed after a
    # same-day cancellation must not read as a reactivation.
    lifecycle = ev[ev["event_type"].isin(LIFECYCLE_EVENTS)]
    last_type = _last_before(lookups, lifecycle, ["event_type"])["event_type"]
    cancelled = (last_type == CANCELLATION).to_numpy()
    last = _last_before(lookups, ev, ["plan", "mrr"])
    has_event = last["mrr"].notna().to_numpy()
    plan = np.where(has_event, last["plan"], acc["plan"].to_numpy()[codes])
    mrr = np.where(has_event, last["mrr"], acc["mrr"].to_numpy()[codes])
    return cancelled, plan, mrr.astype(float)


def _complete_months(first_signup: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Month starts from the first on/after ``first_signup`` to the last complete.

    A month is complete when its last day is on or before ``end`` (the last
    observed day).
    """
    first = first_signup.to_period("M").to_timestamp()
    if first < first_signup:
        first += pd.DateOffset(months=1)
    after_end = end.normalize() + pd.Timedelta(days=1)
    last = after_end.to_period("M").to_timestamp() - pd.DateOffset(months=1)
    return pd.date_range(first, last, freq="MS")


class _MonthGrid:
    """Every account's state at every month boundary, as (account, month) arrays."""

    def __init__(
        self, accounts: pd.DataFrame, events: pd.DataFrame, end: pd.Timestamp
    ) -> None:
        acc, ev = _prepare(accounts, events)
        self.accounts = acc
        self.months = (
            _complete_months(acc["signup"].min(), pd.Timestamp(end))
            if len(acc)
            else pd.DatetimeIndex([])
        )
        n_accounts, n_months = len(acc), len(self.months)
        shape = (n_accounts, n_months)
        if n_months == 0:
            self.active_start = np.zeros(shape, dtype=bool)
            self.plan_start = np.empty(shape, dtype=object)
            self.mrr_start = self.mrr_end = np.zeros(shape)
            self.cancelled = self.voluntary = self.involuntary = self.active_start
            return
        bounds = self.months.append(
            pd.DatetimeIndex([self.months[-1] + pd.DateOffset(months=1)])
        )
        codes = np.repeat(acc["code"].to_numpy(), len(bounds))
        at = np.tile(bounds.to_numpy(), n_accounts)
        cancelled, plan, mrr = _state_at(acc, ev, codes, at)
        signup = acc["signup"].to_numpy()[codes]
        active = ((signup < at) & ~cancelled).reshape(n_accounts, len(bounds))
        mrr = np.where(active, mrr.reshape(active.shape), 0.0)
        self.active_start = active[:, :-1]
        self.plan_start = plan.reshape(active.shape)[:, :-1]
        self.mrr_start = mrr[:, :-1]
        self.mrr_end = mrr[:, 1:]
        self._cancellations(ev, bounds, shape)

    def _cancellations(
        self, ev: pd.DataFrame, bounds: pd.DatetimeIndex, shape: tuple[int, int]
    ) -> None:
        """Who cancelled in each month, with the type of their first cancellation."""
        cancels = ev[
            (ev["event_type"] == CANCELLATION)
            & (ev["event_date"] >= bounds[0])
            & (ev["event_date"] < bounds[-1])
        ]
        month = np.searchsorted(bounds, cancels["event_date"].to_numpy(), "right") - 1
        # One lost logo per account and month, even if it cancels, comes back and
        # cancels again within the month; the first cancellation's type counts.
        first = cancels.assign(month=month).drop_duplicates(["code", "month"])
        rows, cols = first["code"].to_numpy(), first["month"].to_numpy()
        kinds = first["churn_type"].to_numpy()
        # Only accounts active at the start can churn out of the denominator.
        self.cancelled = np.zeros(shape, dtype=bool)
        self.cancelled[rows, cols] = True
        self.cancelled &= self.active_start
        self.voluntary = np.zeros(shape, dtype=bool)
        self.voluntary[rows[kinds == VOLUNTARY], cols[kinds == VOLUNTARY]] = True
        self.voluntary &= self.active_start
        self.involuntary = np.zeros(shape, dtype=bool)
        self.involuntary[rows[kinds == INVOLUNTARY], cols[kinds == INVOLUNTARY]] = True
        self.involuntary &= self.active_start

    def tenure_months(self) -> np.ndarray:
        """Whole calendar months from signup to each month start."""
        signup = pd.DatetimeIndex(self.accounts["signup"])
        signup_ym = signup.year * 12 + signup.month
        # A signup after the 1st at 00:00 has not completed its first month yet.
        partial = (signup != signup.to_period("M").to_timestamp()).astype(int)
        month_ym = self.months.year * 12 + self.months.month
        return (
            np.asarray(month_ym)[None, :]
            - np.asarray(signup_ym)[:, None]
            - np.asarray(partial)[:, None]
        )


def monthly_churn(
    accounts: pd.DataFrame, events: pd.DataFrame, *, end: pd.Timestamp
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

    Returns:
        One row per month from the first month starting on/after the earliest
        signup, with the columns of :data:`MONTHLY_COLUMNS`. ``mrr_churned`` is
        the start MRR of the churned accounts; ``mrr_contraction`` is
        ``max(0, start MRR - end MRR)`` summed over accounts active at start that
        did not cancel. ``revenue_churn_rate`` is gross:
        ``(mrr_churned + mrr_contraction) / mrr_start``. Every rate is 0.0 in a
        month whose denominator is 0. Empty (same columns) if no month is complete.
    """
    grid = _MonthGrid(accounts, events, end)
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
    start = table["accounts_start"]
    table["logo_churn_rate"] = _rate(table["cancellations"], start)
    table["revenue_churn_rate"] = _rate(
        table["mrr_churned"] + table["mrr_contraction"], table["mrr_start"]
    )
    table["voluntary_rate"] = _rate(table["voluntary"], start)
    table["involuntary_rate"] = _rate(table["involuntary"], start)
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
    grid = _MonthGrid(accounts, events, end)
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
    table["logo_churn_rate"] = _rate(table["cancellations"], table["accounts_start"])
    return table[SEGMENT_COLUMNS]


def month_column(k: int) -> str:
    """Name of the retention column ``k`` months after signup."""
    return f"month_{k}"


def cohort_retention(
    accounts: pd.DataFrame,
    events: pd.DataFrame,
    *,
    end: pd.Timestamp,
    max_months: int = 12,
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
    everyone, ev = _prepare(accounts, events)
    acc = everyone[everyone["signup"] <= end]
    ks = np.arange(max_months + 1)
    # One vectorised date shift per k: a loop over months, not over accounts.
    at = np.concatenate(
        [(acc["signup"] + pd.DateOffset(months=int(k))).to_numpy() for k in ks]
    )
    codes = np.tile(acc["code"].to_numpy(), len(ks))
    cancelled, _, _ = _state_at(everyone, ev, codes, at)
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
    _require(nps_responses, ("response_date", "score"), "nps_responses")
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
    table["share"] = _rate(table["count"], np.full(len(table), table["count"].sum()))
    return table
