"""Smoke checks of the churn analytics figures: axes, lines, bars and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from churn_pipeline.reporting.churn_plots import (
    plot_churn_by_segment,
    plot_churn_rates,
    plot_clv_distribution,
    plot_cohort_retention,
    plot_nps_distribution,
)

MONTHS = pd.date_range("2024-01-01", periods=6, freq="MS")


@pytest.fixture
def monthly() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    voluntary = rng.uniform(0.01, 0.03, len(MONTHS))
    involuntary = rng.uniform(0.0, 0.01, len(MONTHS))
    return pd.DataFrame(
        {
            "month": MONTHS,
            "logo_churn_rate": voluntary + involuntary,
            "revenue_churn_rate": rng.uniform(0.01, 0.05, len(MONTHS)),
            "voluntary_rate": voluntary,
            "involuntary_rate": involuntary,
        }
    )


def test_churn_rates_has_trend_lines_and_stacked_bars(monthly):
    figure = plot_churn_rates(monthly)
    assert isinstance(figure, Figure)
    top, bottom = figure.axes
    # Logo, revenue and the 5 % benchmark line.
    assert len(top.lines) == 3
    assert len(bottom.patches) == 2 * len(MONTHS)
    assert all(patch.get_width() > 0 for patch in bottom.patches)
    assert top.get_title() and bottom.get_xlabel() == "Month"


def test_churn_by_segment_draws_one_line_per_segment():
    segments = ["0-3 m", "3-6 m", "6+ m"]
    table = pd.DataFrame(
        {
            "month": np.repeat(MONTHS, len(segments)),
            "segment": segments * len(MONTHS),
            "accounts_start": 10,
            "cancellations": 1,
            "logo_churn_rate": 0.1,
        }
    )
    table.loc[0, ["accounts_start", "cancellations", "logo_churn_rate"]] = 0
    figure = plot_churn_by_segment(table, "Monthly logo churn by tenure")
    (axis,) = figure.axes
    assert axis.get_title() == "Monthly logo churn by tenure"
    assert len(axis.lines) == len(segments)
    # A month without accounts is a gap, not a 0 % point.
    assert np.isnan(axis.lines[0].get_ydata()[0])


def test_cohort_retention_is_one_heatmap_row_per_cohort():
    cohorts = pd.date_range("2023-01-01", periods=18, freq="MS", name="cohort")
    share = np.tril(np.full((18, 13), 0.8))[::-1]  # newest cohorts observed least
    retention = pd.DataFrame(
        np.where(share > 0, share, np.nan),
        index=cohorts,
        columns=[f"month_{k}" for k in range(13)],
    )
    retention["month_0"] = 1.0
    retention.insert(0, "cohort_size", 50)
    figure = plot_cohort_retention(retention)
    heatmap = figure.axes[0]
    assert len(heatmap.images) == 1
    assert len(heatmap.get_yticklabels()) == 18
    assert heatmap.get_yticklabels()[0].get_text() == "2023-01 (n=50)"


def test_nps_distribution_has_eleven_coloured_bars_and_the_score():
    counts = [0, 0, 1, 1, 1, 1, 1, 2, 2, 3, 3]  # 5 detractors, 6 promoters of 15
    distribution = pd.DataFrame(
        {
            "score": range(11),
            "category": ["detractor"] * 7 + ["passive"] * 2 + ["promoter"] * 2,
            "count": counts,
        }
    )
    (axis,) = plot_nps_distribution(distribution).axes
    assert len(axis.patches) == 11
    assert axis.get_title() == "NPS +7 from 15 answers"
    assert axis.patches[0].get_facecolor() != axis.patches[10].get_facecolor()


def test_clv_distribution_has_one_box_per_plan():
    clv = pd.DataFrame(
        {
            "plan": ["basic"] * 4 + ["pro"] * 3 + ["enterprise"] * 2 + ["pro"],
            "account_clv": [100, 200, 150, 120, 1e3, 2e3, 1.5e3, 2e4, 3e4, np.nan],
        }
    )
    (axis,) = plot_clv_distribution(clv).axes
    labels = [label.get_text() for label in axis.get_xticklabels()]
    assert labels == ["basic\n(n=4)", "pro\n(n=3)", "enterprise\n(n=2)"]
    assert axis.get_yscale() == "log"


@pytest.mark.parametrize(
    ("currency", "label"),
    [
        ("EUR", "Customer lifetime value (EUR)"),
        (None, "Customer lifetime value"),  # not stated: no unit invented
    ],
)
def test_clv_axis_names_the_currency(currency, label):
    clv = pd.DataFrame(
        {"plan": ["basic", "pro"], "account_clv": [100.0, 150.0], "currency": currency}
    )

    (axis,) = plot_clv_distribution(clv).axes

    assert axis.get_ylabel() == label


@pytest.mark.parametrize(
    ("plot", "table"),
    [
        (plot_churn_rates, pd.DataFrame()),
        (plot_nps_distribution, pd.DataFrame()),
        (plot_clv_distribution, pd.DataFrame({"plan": [], "account_clv": []})),
    ],
)
def test_empty_tables_are_rejected(plot, table):
    with pytest.raises(ValueError, match="empty"):
        plot(table)


def test_missing_columns_are_named(monthly):
    with pytest.raises(ValueError, match=r"lacks columns \['voluntary_rate'\]"):
        plot_churn_rates(monthly.drop(columns="voluntary_rate"))
