"""The reporting pipeline on a small generated business, persisted like a run."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import ParquetDataset
from kedro_datasets.text import TextDataset
from tests.models import synthetic

from churn_pipeline.demo_data import DemoDataConfig, generate_demo_data
from churn_pipeline.pipelines.reporting import create_pipeline
from churn_pipeline.pipelines.reporting.nodes import REPORT_FIGURES
from churn_pipeline.pipelines.scoring.nodes import score_snapshot

END = pd.Timestamp("2024-12-31")
TABLES = (
    "monthly_churn",
    "churn_by_plan",
    "churn_by_tenure",
    "cohort_retention",
    "nps_distribution",
    "account_values",
)
PARAMS = {
    "tenure_bands_months": [0, 3, 6, 12],
    "cohort_months": 6,
    "nps_window_days": 365,
    "summary_features": 10,
    "dependence_features": 3,
    "contact_rows": 5,
}
SCORING_PARAMS = {
    **synthetic.SCORING_PARAMS,
    "value": {
        "basis": "per_account",
        "gross_margin": 0.8,
        "max_lifetime_months": 36,
        "horizon_days": 30,
        "incentive": "proportional",
    },
    "currency": "USD",
}


@pytest.fixture(scope="module")
def business() -> dict[str, pd.DataFrame]:
    config = DemoDataConfig(
        n_accounts=400, start_date="2024-01-01", end_date="2024-12-31", seed=5
    )
    return generate_demo_data(config)


@pytest.fixture(scope="module")
def scored() -> dict[str, object]:
    model = synthetic.fitted_model()
    scoring = synthetic.make_snapshots([END], 300, seed=31, labelled=False)
    explanation = model.explain(scoring)
    labelled = synthetic.make_snapshots([END - pd.Timedelta(days=61)], 300, seed=32)
    scores = score_snapshot(
        model,
        scoring,
        explanation,
        SCORING_PARAMS,
        synthetic.PROFIT_PARAMS,
        labelled,
    )
    return {
        "scoring_snapshots": scoring,
        "scoring_explanation": explanation,
        "churn_scores": scores,
        "test_snapshots": labelled,
    }


@pytest.fixture(scope="module")
def run(business, scored, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reporting")
    datasets = {
        "accounts": MemoryDataset(business["accounts"]),
        "subscription_events": MemoryDataset(business["subscription_events"]),
        "nps_responses": MemoryDataset(business["nps_responses"]),
        "params:reporting": MemoryDataset(PARAMS),
        "params:scoring": MemoryDataset(SCORING_PARAMS),
        "params:profit": MemoryDataset(synthetic.PROFIT_PARAMS),
        **{name: MemoryDataset(value) for name, value in scored.items()},
        **{
            name: ParquetDataset(filepath=str(out / f"{name}.parquet"))
            for name in TABLES
        },
        **{
            name: MatplotlibDataset(filepath=str(out / f"{name}.png"))
            for name in REPORT_FIGURES
        },
        "churn_report": TextDataset(filepath=str(out / "report.html")),
    }
    SequentialRunner().run(create_pipeline(), DataCatalog(datasets))
    return out


def test_every_output_is_written(run: Path) -> None:
    for name in TABLES:
        assert len(pd.read_parquet(run / f"{name}.parquet")) > 0, name
    for name in REPORT_FIGURES:
        assert (run / f"{name}.png").read_bytes().startswith(b"\x89PNG"), name


def test_report_embeds_every_chart_and_fetches_nothing(run: Path) -> None:
    html = (run / "report.html").read_text()

    images = re.findall(r'<img class="chart" alt="([^"]+)" src="([^"]+)"', html)
    assert len(images) == len(REPORT_FIGURES)
    for alt, source in images:
        prefix = "data:image/png;base64,"
        assert source.startswith(prefix), alt
        assert base64.b64decode(source[len(prefix) :]).startswith(b"\x89PNG"), alt
    assert not re.search(r"(src|href)=\"(https?:|//|file:)", html)


def test_report_headline_quotes_the_tables(run: Path, scored) -> None:
    html = (run / "report.html").read_text()
    monthly = pd.read_parquet(run / "monthly_churn.parquet")
    last = monthly.iloc[-1]

    assert f"Logo churn, {last['month']:%b %Y}" in html
    assert f"{100 * last['logo_churn_rate']:.1f} %" in html
    assert f"{len(scored['churn_scores']):,}" in html
    assert "Data up to 2024-12-31" in html
    # The contact table lists accounts of the scored list.
    contacted = scored["churn_scores"].query("contact")["account_id"]
    assert any(account in html for account in contacted)


def test_tables_cover_the_business_up_to_the_scored_date(run: Path) -> None:
    monthly = pd.read_parquet(run / "monthly_churn.parquet")
    by_plan = pd.read_parquet(run / "churn_by_plan.parquet")
    cohorts = pd.read_parquet(run / "cohort_retention.parquet")

    assert monthly["month"].max() == pd.Timestamp("2024-12-01")
    # Segments add up to the month's totals.
    totals = by_plan.groupby("month")[["accounts_start", "cancellations"]].sum()
    pd.testing.assert_frame_equal(
        totals.reset_index(),
        monthly[["month", "accounts_start", "cancellations"]],
        check_dtype=False,
    )
    assert (cohorts["month_0"] == 1.0).all()


def test_account_values_are_mrr_times_margin_times_lifetime(run: Path, scored) -> None:
    values = pd.read_parquet(run / "account_values.parquet")
    ratio = values["account_clv"] / (values["mrr"] * 0.8)

    assert len(values) == len(scored["scoring_snapshots"])
    # One lifetime for everyone: the labelled churn rate's.
    lifetime = ratio.iloc[0]
    np.testing.assert_allclose(ratio, lifetime, rtol=1e-12)
    assert 1.0 <= lifetime <= 36.0


def test_report_clv_is_the_scored_lists_clv(run: Path, scored) -> None:
    values = pd.read_parquet(run / "account_values.parquet").set_index("account_id")
    listed = scored["churn_scores"].set_index("account_id")

    assert set(values.index) == set(listed.index)
    for column in ("account_clv", "mrr"):
        np.testing.assert_array_equal(
            values[column], listed.loc[values.index, column], err_msg=column
        )
    assert set(values["currency"]) == {"USD"}


def test_report_states_the_clv_basis_and_what_empc_assumes(run: Path) -> None:
    html = (run / "report.html").read_text()
    values = pd.read_parquet(run / "account_values.parquet")

    assert "CLV = MRR x gross margin 0.8 x expected lifetime" in html
    assert f"median {values['account_clv'].median():,.0f}" in html
    clv = synthetic.PROFIT_PARAMS["clv"]
    assert f"profit.clv = {clv:,.0f} USD" in html
    assert "scaled to each account" in html
