"""The churn analytics report: churn over time, cohorts, NPS, CLV and drivers."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from churn_pipeline.datasets.parquet_table import ParquetTable, TableData
from churn_pipeline.models import Explanation
from churn_pipeline.reporting.churn_analytics import (
    churn_by_segment,
    churn_record_start,
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


def report_subtitle(monthly: pd.DataFrame, end: pd.Timestamp) -> str:
    """The line under the title: data end and the months the charts show."""
    first, last = monthly["month"].iloc[[0, -1]]
    return (
        f"Data up to {end:%Y-%m-%d}; {len(monthly)} complete months, "
        f"{first:%b %Y} to {last:%b %Y}."
    )


def summarise_churn(
    accounts: pd.DataFrame,
    subscription_events: pd.DataFrame,
    scoring: pd.DataFrame,
    params: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Monthly churn, churn by plan and by tenure band, and cohort retention.

    Every table starts with the month of the first recorded cancellation
    (``churn_record_start``): before it the data cannot show churn.

    Args:
        accounts: Validated accounts.
        subscription_events: Validated subscription events.
        scoring: The scored snapshot (its as-of date ends the report's window).
        params: ``reporting`` parameters.

    Returns:
        Monthly churn, churn by plan, churn by tenure band, cohort retention.
    """
    end, start = _end(scoring), churn_record_start(subscription_events)
    window = {"end": end, "start": start}
    monthly = monthly_churn(accounts, subscription_events, **window)
    by_plan = churn_by_segment(accounts, subscription_events, by="plan", **window)
    by_tenure = churn_by_segment(
        accounts,
        subscription_events,
        by="tenure",
        tenure_bands=tuple(params["tenure_bands_months"]),
        **window,
    )
    cohorts = cohort_retention(
        accounts,
        subscription_events,
        max_months=int(params["cohort_months"]),
        **window,
    )
    return monthly, by_plan, by_tenure, cohorts


def summarise_nps(
    nps_responses: TableData, scoring: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Answers per NPS score over the window before the scored date.

    Args:
        nps_responses: Validated NPS answers (empty when the table is absent),
            in memory or a file; of a file only the date and score are read.
        scoring: The scored snapshot.
        params: ``reporting`` parameters.

    Returns:
        Count and share per score 0-10, with its category.
    """
    if isinstance(nps_responses, ParquetTable):
        # A missing column is left for nps_distribution to name.
        needed = [c for c in ("response_date", "score") if c in nps_responses.columns]
        nps_responses = nps_responses.to_pandas(columns=needed)
    return nps_distribution(
        nps_responses, end=_end(scoring), window_days=int(params["nps_window_days"])
    )


def value_accounts(
    scoring: pd.DataFrame,
    scores: pd.DataFrame,
    labelled: pd.DataFrame,
    scoring_params: dict[str, Any],
    profit: dict[str, Any],
) -> tuple[pd.DataFrame, str]:
    """CLV of every scored account, as the scored list values it, and its basis.

    The values are the scored list's own ``account_clv``, so the report, the
    list and the API show one set of numbers; the text says how they were
    computed and what model selection (EMPC) assumes instead.

    Args:
        scoring: The scored snapshot (``account_id``, ``plan``).
        scores: The scored list (``account_clv``; ``mrr`` and ``currency``
            when the policy carries them).
        labelled: Labelled snapshots whose churn rate gave the lifetime.
        scoring_params: ``scoring`` parameters (``value`` block, ``currency``).
        profit: ``profit`` parameters (the typical account EMPC values).

    Returns:
        ``account_id``, ``plan``, ``mrr``, ``account_clv`` and ``currency``
        per scored account; and the report's sentence on the CLV basis.
    """
    plans = scoring[["account_id", "plan"]].drop_duplicates("account_id")
    values = (
        scores[["account_id", "account_clv"]]
        .assign(
            mrr=scores.get("mrr", np.nan),
            currency=scores.get("currency", scoring_params.get("currency")),
        )
        .merge(plans, on="account_id", how="left", validate="1:1")
    )[["account_id", "plan", "mrr", "account_clv", "currency"]]
    note = _clv_note(values, labelled, scoring_params, profit)
    logger.info("Account CLV: %s", note)
    return values.reset_index(drop=True), note


def _clv_note(
    values: pd.DataFrame,
    labelled: pd.DataFrame,
    scoring_params: dict[str, Any],
    profit: dict[str, Any],
) -> str:
    """How the list values accounts, and what EMPC assumes, with the numbers."""
    value = scoring_params.get("value") or {}
    currency = scoring_params.get("currency") or "currency units"
    clv = values["account_clv"]
    typical = float(profit["clv"])
    costs = (
        f"incentive {float(profit['incentive_cost']):,.0f} and contact cost "
        f"{float(profit['contact_cost']):,.0f} {currency}"
    )
    if value.get("basis", "fixed") != "per_account":
        return (
            f"Every account is worth profit.clv = {typical:,.0f} {currency} "
            f"(scoring.value.basis fixed), in the list and in model selection "
            f"(EMPC) alike; {costs}."
        )
    lifetime = lifetime_of(value, labelled["label"])
    scaled = value.get("incentive", "fixed") == "proportional"
    return (
        f"CLV = MRR x gross margin {float(value['gross_margin']):g} x expected "
        f"lifetime {lifetime:.1f} months (1 / monthly churn rate, capped at "
        f"{float(value['max_lifetime_months']):g}), per scored account, in "
        f"{currency}: median {clv.median():,.0f}, mean {clv.mean():,.0f}. These "
        f"are the scored list's values. Model selection (EMPC) ranks accounts "
        f"by score alone and so needs one CLV for every account: it uses "
        f"profit.clv = {typical:,.0f} {currency}, the typical account's; "
        f"{costs} for that account"
        + (
            ", the incentive scaled to each account's CLV in the list."
            if scaled
            else "."
        )
    )


def _currency_suffix(scores: pd.DataFrame) -> str:
    """`` USD`` when the scored list states its currency, else nothing."""
    stated = scores["currency"].dropna() if "currency" in scores else ()
    return f" {stated.iloc[0]}" if len(stated) else ""


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
            f"{_currency_suffix(scores)}"
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
    clv_note: str,
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
            "Customer lifetime value", clv_note, figures["clv_distribution_plot"]
        ),
        ReportSection(
            "What drives churn risk",
            "SHAP contributions of the served model to each scored account's "
            "risk (log-odds), per driver: the features that carry one signal "
            "summed. Red dots are high values of the feature in brackets.",
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
    clv_note: str,
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
        values: Account CLV (:func:`value_accounts`).
        clv_note: How the CLV was computed (:func:`value_accounts`).
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
            explanation, scoring, n_drivers=int(params["summary_features"])
        ),
        "shap_dependence_plot": plot_dependence(explanation, scoring, top),
    }
    sections = _sections(monthly, figures, top, scores, params, clv_note)
    html = render_report(
        "Churn analytics report",
        report_subtitle(monthly, _end(scoring)),
        _headline(monthly, nps, scores),
        sections,
    )
    logger.info("Churn report: %d sections, %d figures", len(sections), len(figures))
    return (html, *(figures[name] for name in REPORT_FIGURES))
