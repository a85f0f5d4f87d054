"""The churn report on the shipped demo business: churn from its first month on.

The demo's accounts signed up years before the recorded window (a burn-in), but
its cancellations are recorded from the window's start only; the report must
neither show the unrecorded years as churn-free nor promise more months than it
shows.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import pytest
import yaml
from tests.conftest import PROJECT_ROOT

from churn_pipeline.demo_data import DemoDataConfig, generate_demo_data
from churn_pipeline.pipelines.reporting.nodes import report_subtitle, summarise_churn
from churn_pipeline.reporting.churn_plots import plot_churn_rates

PARAMS: dict[str, Any] = {
    "tenure_bands_months": [0, 3, 6, 12, 24],
    "cohort_months": 12,
}


def _demo_config() -> DemoDataConfig:
    path = PROJECT_ROOT / "conf/base/parameters_demo_data.yml"
    return DemoDataConfig(**yaml.safe_load(path.read_text())["demo_data"])


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    """The report's churn tables on the tables `kedro run --pipelines demo_data`
    writes, scored (as a real run is) at the demo's last day."""
    config = _demo_config()
    demo = generate_demo_data(config)
    end = pd.Timestamp(config.end_date)
    scoring = pd.DataFrame({"as_of_date": [end]})
    monthly, by_plan, by_tenure, cohorts = summarise_churn(
        demo["accounts"], demo["subscription_events"], scoring, PARAMS
    )
    return {
        "monthly": monthly,
        "by_plan": by_plan,
        "by_tenure": by_tenure,
        "cohorts": cohorts,
        "start": pd.Timestamp(config.start_date),
        "end": end,
    }


def test_demo_churns_in_every_reported_month(summary: dict[str, Any]) -> None:
    monthly = summary["monthly"]

    assert monthly["month"].iloc[0] == summary["start"]
    assert (monthly["cancellations"] > 0).all()
    assert (monthly["logo_churn_rate"] > 0).all()
    # Steady from the first month: no warm-up the rate climbs out of.
    rates = monthly["logo_churn_rate"]
    assert rates.head(3).mean() == pytest.approx(rates.mean(), rel=0.3)
    assert rates.max() < 2.5 * rates.min()


def test_demo_cohorts_lose_accounts_from_their_first_months(
    summary: dict[str, Any],
) -> None:
    cohorts = summary["cohorts"]

    assert cohorts.index.min() == summary["start"]
    # No cohort keeps every account for a year (unrecorded churn would).
    assert (cohorts["month_12"].dropna() < 1.0).all()


def test_demo_base_has_accounts_older_than_two_years(summary: dict[str, Any]) -> None:
    by_tenure = summary["by_tenure"]
    first_month = by_tenure[by_tenure["month"] == summary["start"]]

    oldest = first_month.set_index("segment").loc["24+ m"]
    assert oldest["accounts_start"] > 0


def test_subtitle_counts_the_months_shown(summary: dict[str, Any]) -> None:
    monthly = summary["monthly"]

    subtitle = report_subtitle(monthly, summary["end"])

    count = re.search(r"(\d+) complete months", subtitle)
    assert count is not None
    # The months the report's churn chart draws.
    shown = len(plot_churn_rates(monthly).axes[0].lines[0].get_xdata())
    # The shipped window starts on the 1st and ends on a month's last day.
    window = pd.date_range(summary["start"], summary["end"], freq="MS")
    assert int(count.group(1)) == shown == len(monthly) == len(window)
    assert subtitle.endswith(f"{window[0]:%b %Y} to {window[-1]:%b %Y}.")
    for segments in (summary["by_plan"], summary["by_tenure"]):
        assert segments["month"].unique().tolist() == monthly["month"].tolist()
