"""The churn analytics report: churn over time, cohorts, NPS, CLV and drivers."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from churn_pipeline.models import Explanation
from churn_pipeline.reporting.churn_analytics import (
    churn_by_segment,
    cohort_retention,
    monthly_churn,
    net_promoter_score,
    nps_distribution,
)
from churn_pipeline.reporting.churn_plots import (
    plot_churn_by_segment,
    plot_churn_rates,
    plot_clv_distribution,
    plot_cohort_retention,
    plot_nps_distribution,
)
from churn_pipeline.reporting.html_report import ReportSection, render_report
from churn_pipeline.reporting.shap_plots import (
    plot_dependence,
    plot_shap_summary,
    top_features,
)
from churn_pipeline.scoring.policy import lifetime_of
from churn_pipeline.scoring.value import account_clv

logger = logging.getLogger(__name__)

# The figures build_report returns, in its output order (catalog names).
REPORT_FIGURES = (
    "churn_rates_plot",
    "churn_by_plan_plot",
    "churn_by_tenure_plot",
    "cohort_retention_plot",
    "nps_distribution_plot",
    "clv_distribution_plot",
    "shap_summary_plot",
    "shap_dependence_plot",
)


def _end(scoring: pd.DataFrame) -> pd.Timestamp:
    """The report's last observed day: the scored snapshot's as-of date."""
    return pd.Timestamp(scoring["as_of_date"].max())


def summarise_churn(
    accounts: pd.DataFrame,
    subscription_events: pd.DataFrame,
    scoring: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Monthly churn, churn by plan and by tenure band, and cohort retention.

    Args:
        accounts: Validated accounts.
        subscription_events: Validated subscription events.
        scoring: The scored snapshot (its as-of date ends the report's window).
        params: ``reporting`` parameters.

    Returns:
        Monthly churn, churn by plan, churn by tenure band, cohort retention.
    """
    end = _end(scoring)
    monthly = monthly_churn(accounts, subscription_events, end=end)
    by_plan = churn_by_segment(accounts, subscription_events, end=end, by="plan")
    by_tenure = churn_by_segment(
        accounts,
        subscription_events,
        end=end,
        by="tenure",
        tenure_bands=tuple(params["tenure_bands_months"]),
    )
    cohorts = cohort_retention(
        accounts, subscription_events, end=end, max_months=int(params["cohort_months"])
    )
    return monthly, by_plan, by_tenure, cohorts


def summarise_nps(
    nps_responses: pd.DataFrame, scoring: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Answers per NPS score over the window before the scored date.

    Args:
        nps_responses: Validated NPS answers (empty when the table is absent).
        scoring: The scored snapshot.
        params: ``reporting`` parameters.

    Returns:
        Count and share per score 0-10, with its category.
    """
    return nps_distribution(
        nps_responses, end=_end(scoring), window_days=int(params["nps_window_days"])
    )


def value_accounts(
    scoring: pd.DataFrame, labelled: pd.DataFrame, scoring_params: dict[str, Any]
) -> pd.DataFrame:
    """CLV of every scored account: MRR x margin x expected lifetime.

    The lifetime is the one the ``per_account`` value basis uses (constant
    hazard from the labelled snapshots' churn rate), whatever basis scoring is
    set to, so the report shows what accounts are worth either way.

    Args:
        scoring: The scored snapshot (``account_id``, ``plan``, ``mrr``).
        labelled: Labelled snapshots whose churn rate gives the lifetime.
        scoring_params: ``scoring`` parameters (``value`` block).

    Returns:
        ``account_id``, ``plan``, ``mrr`` and ``account_clv``.
    """
    value = scoring_params["value"]
    lifetime = lifetime_of(value, labelled["label"])
    accounts = scoring[["account_id", "plan", "mrr"]].reset_index(drop=True)
    clv = account_clv(
        accounts.set_index("account_id")["mrr"],
        gross_margin=float(value["gross_margin"]),
        lifetime_months=lifetime,
    )
    logger.info("Account CLV from an expected lifetime of %.1f months", lifetime)
    return accounts.assign(account_clv=clv)


def _percent(value: float) -> str:
    return f"{100 * value:.1f} %"


def _headline(
    monthly: pd.DataFrame, nps: pd.DataFrame, scores: pd.DataFrame
) -> dict[str, str]:
    last = monthly.iloc[-1]
    answers = int(nps["count"].sum())
    nps_text = (
        f"{net_promoter_score(np.repeat(nps['score'].to_numpy(), nps['count'])):+.0f}"
        if answers
        else "no answers"
    )
    contact = scores["contact"].to_numpy(dtype=bool)
    return {
        f"Logo churn, {last['month']:%b %Y}": _percent(last["logo_churn_rate"]),
        f"Revenue churn, {last['month']:%b %Y}": _percent(last["revenue_churn_rate"]),
        "Active accounts scored": f"{len(scores):,}",
        "At risk (yellow or red)": f"{int((scores['risk_band'] != 'green').sum()):,}",
        "Worth contacting": f"{int(contact.sum()):,}",
        "Expected profit of those contacts": (
            f"{scores.loc[contact, 'expected_contact_profit'].sum():,.0f}"
        ),
        "NPS, last 12 months": nps_text,
    }


def _last_year(monthly: pd.DataFrame) -> str:
    year = monthly.tail(12)
    lost = int(year["cancellations"].sum())
    involuntary = int(year["involuntary"].sum())
    share = involuntary / lost if lost else 0.0
    return (
        f"Over the last {len(year)} months {lost:,} accounts cancelled, "
        f"{involuntary:,} of them involuntarily (failed payments, "
        f"{_percent(share)}). Logo churn = accounts lost in a month / accounts "
        "active at its start; revenue churn also counts downgrades (gross). "
        "Good SaaS monthly churn is below 5 % (dotted line)."
    )


def _contact_table(scores: pd.DataFrame, n: int) -> pd.DataFrame:
    riskiest = scores[scores["contact"]].nlargest(n, "expected_contact_profit")
    columns = {
        "account_id": "account",
        "churn_probability": "probability",
        "risk_band": "band",
        "recommended_action": "action",
        "owner_role": "owner",
    }
    table = riskiest[[c for c in columns if c in riskiest]].rename(columns=columns)
    table["probability"] = table["probability"].map("{:.1%}".format)
    table["main reason"] = riskiest["top_reasons"].map(
        lambda reasons: reasons[0] if len(reasons) else "-"
    )
    return table


def _sections(
    monthly: pd.DataFrame,
    figures: dict[str, Figure],
    top: list[str],
    scores: pd.DataFrame,
    params: dict[str, Any],
) -> list[ReportSection]:
    """The report's sections, in reading order, around the built figures."""
    return [
        ReportSection(
            "Churn over time", _last_year(monthly), figures["churn_rates_plot"]
        ),
        ReportSection(
            "Churn by plan",
            "Which plans lose the most accounts, month by month.",
            figures["churn_by_plan_plot"],
        ),
        ReportSection(
            "Churn by tenure",
            "Most churn happens early: accounts grouped by their age in whole "
            "months at each month's start.",
            figures["churn_by_tenure_plot"],
        ),
        ReportSection(
            "Cohort retention",
            "Share of each signup month's accounts still active k months later "
            "(blank: not observed yet). Strong B2B SaaS keeps more than 85 %.",
            figures["cohort_retention_plot"],
        ),
        ReportSection(
            "Net Promoter Score",
            f"Answers of the last {int(params['nps_window_days'])} days; below 7 is "
            "a detractor. NPS = % promoters - % detractors.",
            figures["nps_distribution_plot"],
        ),
        ReportSection(
            "Customer lifetime value",
            "CLV = MRR x gross margin x expected lifetime (1 / monthly churn "
            "rate, capped), per scored account.",
            figures["clv_distribution_plot"],
        ),
        ReportSection(
            "What drives churn risk",
            "SHAP contributions of the served model to each scored account's "
            "risk (log-odds); red dots are high feature values.",
            figures["shap_summary_plot"],
        ),
        ReportSection(
            "How the strongest drivers act",
            f"Each of the {len(top)} most important features against its "
            "contribution: above 0 raises the risk.",
            figures["shap_dependence_plot"],
        ),
        ReportSection(
            "Whom to contact first",
            "The accounts whose retention contact has the largest expected "
            "profit; the full list is data/08_reporting/churn_scores.csv.",
            table=_contact_table(scores, int(params["contact_rows"])),
        ),
    ]


def build_report(
    monthly: pd.DataFrame,
    by_plan: pd.DataFrame,
    by_tenure: pd.DataFrame,
    cohorts: pd.DataFrame,
    nps: pd.DataFrame,
    values: pd.DataFrame,
    explanation: Explanation,
    scoring: pd.DataFrame,
    scores: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[str, ...]:
    """The figures and the self-contained HTML churn analytics report.

    Args:
        monthly: Monthly churn.
        by_plan: Monthly churn per plan.
        by_tenure: Monthly churn per tenure band.
        cohorts: Cohort retention.
        nps: NPS distribution.
        values: Account CLV.
        explanation: SHAP contributions of the scored snapshot.
        scoring: The scored snapshot (the explained feature values).
        scores: The scored list.
        params: ``reporting`` parameters.

    Returns:
        The HTML page, then one figure per name in ``REPORT_FIGURES``.
    """
    top = top_features(explanation, int(params["dependence_features"]))
    figures: dict[str, Figure] = {
        "churn_rates_plot": plot_churn_rates(monthly),
        "churn_by_plan_plot": plot_churn_by_segment(
            by_plan, "Monthly logo churn by plan"
        ),
        "churn_by_tenure_plot": plot_churn_by_segment(
            by_tenure, "Monthly logo churn by tenure at the month's start"
        ),
        "cohort_retention_plot": plot_cohort_retention(cohorts),
        "nps_distribution_plot": plot_nps_distribution(nps),
        "clv_distribution_plot": plot_clv_distribution(values),
        "shap_summary_plot": plot_shap_summary(
            explanation, scoring, n_features=int(params["summary_features"])
        ),
        "shap_dependence_plot": plot_dependence(explanation, scoring, top),
    }
    sections = _sections(monthly, figures, top, scores, params)
    html = render_report(
        "Churn analytics report",
        f"Data up to {_end(scoring):%Y-%m-%d}; {len(monthly)} complete months.",
        _headline(monthly, nps, scores),
        sections,
    )
    logger.info("Churn report: %d sections, %d figures", len(sections), len(figures))
    return (html, *(figures[name] for name in REPORT_FIGURES))
