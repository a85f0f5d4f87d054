"""The churn analytics report of a real run, rendered in headless Chromium."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.browser import open_page, rendered_images
from tests.scored_list import WHO_AND_RISK

from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.pipelines.reporting.nodes import REPORT_FIGURES

pytestmark = pytest.mark.e2e


def test_report_shows_every_chart_in_chromium(trained_project, tmp_path):
    report = trained_project.path / "data/08_reporting/churn_report.html"

    with open_page(report) as page:
        images = rendered_images(page)
        title = page.title()
        headings = page.locator("h2").all_inner_texts()
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)

    assert title == "Churn analytics report"
    assert len(images) == len(REPORT_FIGURES)
    for image in images:
        # Decoded (a broken image has naturalWidth 0) and laid out on the page.
        assert image["complete"], image
        assert image["width"] > 200 and image["height"] > 150, image
        assert image["shown"] > 200, image
    assert "Whom to contact first" in headings
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_scoring_explanation_adds_up_to_the_served_score(trained_project):
    """Base value + contributions = uncalibrated score, every account, to 1e-9."""
    data = trained_project.path / "data"
    model: ChurnEnsemble = pd.read_pickle(data / "06_models/churn_model.pkl")
    scoring = pd.read_parquet(data / "05_model_input/scoring_snapshots.parquet")
    explanation = pd.read_pickle(data / "07_model_output/scoring_explanation.pkl")

    total = explanation.base_value + explanation.contributions.sum(axis=1)

    error = np.abs(total.to_numpy() - model.decision_function(scoring))
    assert error.max() < 1e-9


def test_csv_export_opens_as_the_scored_list(trained_project):
    data = trained_project.path / "data"
    scores = pd.read_parquet(data / "07_model_output/churn_scores.parquet")

    exported = pd.read_csv(
        data / "08_reporting/churn_scores.csv", keep_default_na=False
    )

    assert len(exported) == len(scores)
    assert exported["contact"].is_monotonic_decreasing
    assert tuple(exported.columns[: len(WHO_AND_RISK)]) == WHO_AND_RISK
