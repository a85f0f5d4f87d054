"""Figures of the churn analytics report: churn trend, segments, cohorts, NPS, CLV."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from churn_pipeline.reporting.churn_analytics import net_promoter_score

# Rule of thumb for small SaaS firms (CONTEXT.md): monthly logo churn below 5 %.
CHURN_BENCHMARK = 0.05
NPS_COLOURS = {"detractor": "tab:red", "passive": "tab:gray", "promoter": "tab:green"}


def _check_table(table: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    if table.empty:
        raise ValueError(f"{name} is empty: nothing to plot")
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ValueError(
            f"{name} lacks columns {missing}; available: {list(table.columns)}"
        )


def plot_churn_rates(monthly: pd.DataFrame) -> Figure:
    """Monthly logo and revenue churn (top), voluntary vs involuntary (bottom).

    Args:
        monthly: The output of
            :func:`~churn_pipeline.reporting.churn_analytics.monthly_churn`.

    Returns:
        A figure with two axes sharing the month axis: two trend lines plus the
        5 % benchmark line, and stacked bars of the logo churn split by type.

    Raises:
        ValueError: If the table is empty or lacks columns.
    """
    columns = ["month", "logo_churn_rate", "revenue_churn_rate"]
    split = ["voluntary_rate", "involuntary_rate"]
    _check_table(monthly, [*columns, *split], "monthly churn table")
    month = monthly["month"].to_numpy()
    figure = Figure(figsize=(9, 6.5))
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    top.plot(month, monthly["logo_churn_rate"], marker="o", label="Logo churn")
    top.plot(
        month, monthly["revenue_churn_rate"], marker="s", label="Gross revenue churn"
    )
    top.axhline(
        CHURN_BENCHMARK, linestyle=":", color="grey", label="5 % small-SaaS benchmark"
    )
    top.set(ylabel="Share lost in the month")
    top.set_title("Monthly churn (accounts active at month start)")
    top.legend(loc="upper left")
    # A Timedelta, not a number: on a date axis a bare number is read as a date.
    width = pd.Timedelta(days=20)
    voluntary = monthly["voluntary_rate"].to_numpy()
    bottom.bar(month, voluntary, width=width, color="tab:orange", label="Voluntary")
    bottom.bar(
        month,
        monthly["involuntary_rate"].to_numpy(),
        width=width,
        bottom=voluntary,
        color="tab:purple",
        label="Involuntary (payment)",
    )
    bottom.set(xlabel="Month", ylabel="Logo churn")
    bottom.set_title("Logo churn by type")
    bottom.legend(loc="upper left")
    for axis in (top, bottom):
        axis.yaxis.set_major_formatter(PercentFormatter(1.0))
        axis.grid(alpha=0.3)
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def plot_churn_by_segment(table: pd.DataFrame, title: str) -> Figure:
    """Monthly logo churn, one line per segment.

    Args:
        table: The output of
            :func:`~churn_pipeline.reporting.churn_analytics.churn_by_segment`.
        title: Figure title, e.g. "Monthly logo churn by plan".

    Returns:
        A figure with one axis and one line per segment, in the table's order; the
        legend gives each segment's accounts at the latest month start. Months
        where a segment has no accounts are gaps, not 0 %.

    Raises:
        ValueError: If the table is empty or lacks columns.
    """
    _check_table(
        table, ["month", "segment", "accounts_start", "logo_churn_rate"], "segments"
    )
    figure = Figure(figsize=(9, 5))
    axis = figure.subplots()
    latest = table["month"].max()
    for segment, group in table.groupby("segment", sort=False):
        rows = group.sort_values("month")
        size = int(rows.loc[rows["month"] == latest, "accounts_start"].sum())
        # A segment with no accounts has no churn rate: leave a gap, not 0 %.
        rate = rows["logo_churn_rate"].where(rows["accounts_start"] > 0)
        axis.plot(
            rows["month"].to_numpy(),
            rate.to_numpy(dtype=float),
            marker="o",
            markersize=3,
            label=f"{segment} ({size:,} accounts now)",
        )
    axis.yaxis.set_major_formatter(PercentFormatter(1.0))
    axis.set(xlabel="Month", ylabel="Logo churn (share of accounts at start)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(loc="upper left")
    figure.autofmt_xdate()
    figure.tight_layout()
    return figure


def plot_cohort_retention(retention: pd.DataFrame) -> Figure:
    """Heatmap of the share of each signup cohort still active, by month since signup.

    Args:
        retention: The output of
            :func:`~churn_pipeline.reporting.churn_analytics.cohort_retention`
            (``cohort_size`` and ``month_<k>`` columns).

    Returns:
        A figure with one heatmap axis (one row per cohort, oldest on top, cells
        labelled in %) and a colour bar; months not observed yet stay blank.

    Raises:
        ValueError: If the table is empty or has no month columns.
    """
    months = [c for c in retention.columns if re.fullmatch(r"month_\d+", str(c))]
    if not months:
        raise ValueError("retention table has no month_<k> columns")
    _check_table(retention, months, "retention table")
    share = retention[months].to_numpy(dtype=float)
    figure = Figure(figsize=(0.55 * len(months) + 3, 0.32 * len(retention) + 1.8))
    axis = figure.subplots()
    # Colours start at 50 % (or lower if needed) so usual B2B levels stay distinct.
    lowest = float(np.nanmin(share)) if np.isfinite(share).any() else 1.0
    image = axis.imshow(
        np.ma.masked_invalid(share),
        cmap="RdYlGn",
        vmin=min(0.5, lowest),
        vmax=1.0,
        aspect="auto",
    )
    for (row, col), value in np.ndenumerate(share):
        if not np.isnan(value):
            axis.text(col, row, f"{value:.0%}", ha="center", va="center", fontsize=7)
    labels = [f"{pd.Timestamp(cohort):%Y-%m}" for cohort in retention.index]
    if "cohort_size" in retention.columns:
        sizes = retention["cohort_size"].to_numpy()
        labels = [
            f"{label} (n={int(n):,})" for label, n in zip(labels, sizes, strict=True)
        ]
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xticks(range(len(months)), [m.removeprefix("month_") for m in months])
    axis.set(xlabel="Months since signup", ylabel="Signup cohort")
    axis.set_title("Cohort retention: share of accounts still active")
    colour_bar = figure.colorbar(image, ax=axis, format=PercentFormatter(1.0))
    colour_bar.set_label("Share of the cohort active")
    figure.tight_layout()
    return figure


def plot_nps_distribution(distribution: pd.DataFrame) -> Figure:
    """Bars of answers per NPS score, coloured by category, NPS in the title.

    Args:
        distribution: The output of
            :func:`~churn_pipeline.reporting.churn_analytics.nps_distribution`.

    Returns:
        A figure with one axis and one bar per score.

    Raises:
        ValueError: If the table is empty or lacks columns.
    """
    _check_table(distribution, ["score", "category", "count"], "NPS distribution")
    counts = distribution["count"].to_numpy(dtype=int)
    total = int(counts.sum())
    figure = Figure(figsize=(8, 4.5))
    axis = figure.subplots()
    colours = [NPS_COLOURS.get(c, "tab:blue") for c in distribution["category"]]
    axis.bar(distribution["score"], counts, color=colours)
    axis.set_xticks(distribution["score"])
    axis.set(xlabel="Score (0 = would not recommend, 10 = certainly would)")
    axis.set(ylabel="Answers")
    if total:
        nps = net_promoter_score(np.repeat(distribution["score"].to_numpy(), counts))
        axis.set_title(f"NPS {nps:+.0f} from {total:,} answers")
    else:
        axis.set_title("NPS: no answers in the window")
    axis.legend(
        handles=[Patch(color=c, label=name) for name, c in NPS_COLOURS.items()],
        loc="upper left",
    )
    figure.tight_layout()
    return figure


def plot_clv_distribution(clv: pd.DataFrame) -> Figure:
    """Box plot of customer lifetime value per plan, plans by median CLV.

    Args:
        clv: One row per account with columns ``plan`` and ``account_clv``
            (and optionally ``currency``, named on the value axis); missing
            values are left out.

    Returns:
        A figure with one axis and one box per plan; tick labels give the
        number of accounts. The value axis is logarithmic when all values are
        positive and the plans' medians differ tenfold or more.

    Raises:
        ValueError: If there is no value to plot or columns are missing.
    """
    _check_table(clv, ["plan", "account_clv"], "CLV table")
    values = clv[["plan", "account_clv"]].dropna()
    if values.empty:
        raise ValueError("CLV table has no non-missing account_clv")
    medians = values.groupby("plan")["account_clv"].median().sort_values()
    order = medians.index
    groups = [values.loc[values["plan"] == plan, "account_clv"] for plan in order]
    ticks = [f"{plan}\n(n={len(g):,})" for plan, g in zip(order, groups, strict=True)]
    figure = Figure(figsize=(7, 4.5))
    axis = figure.subplots()
    axis.boxplot(
        [group.to_numpy(dtype=float) for group in groups],
        tick_labels=ticks,
        showfliers=False,  # long right tails would squash the boxes
    )
    currencies = clv["currency"].dropna().unique() if "currency" in clv else []
    unit = ", ".join(map(str, currencies)) if len(currencies) else ""
    label = f"Customer lifetime value{f' ({unit})' if unit else ''}"
    axis.set(xlabel="Plan", ylabel=label)
    # Plans often differ by orders of magnitude; a log axis keeps every box legible.
    if (values["account_clv"] > 0).all() and medians.iloc[-1] >= 10 * medians.iloc[0]:
        axis.set_yscale("log")
        axis.set(ylabel=f"{label}, log scale")
    axis.set_title("CLV per account by plan (whiskers: 1.5 x IQR)")
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return figure
