"""SHAP figures: the global views speak in drivers, the per-account ones in features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_pipeline.models import Explanation
from churn_pipeline.reporting.shap_plots import (
    plot_driver_importance,
    plot_shap_summary,
    plot_waterfall,
    top_features,
)

N = 60


@pytest.fixture
def features() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "logins_7d": rng.poisson(5, N).astype(float),
            "logins_30d": rng.poisson(20, N).astype(float),
            "failed_payments_90d": rng.poisson(0.3, N).astype(float),
            "last_nps": np.where(rng.random(N) < 0.3, np.nan, 8.0),
            "country": rng.choice(["US", "DE"], N),
        },
        index=np.arange(100, 100 + N),
    )


@pytest.fixture
def explanation(features: pd.DataFrame) -> Explanation:
    rng = np.random.default_rng(8)
    contributions = pd.DataFrame(
        {
            "logins_7d": rng.normal(0.0, 0.4, N),
            "logins_30d": rng.normal(0.0, 0.4, N),
            "failed_payments_90d": rng.normal(0.0, 0.5, N),
            "last_nps": rng.normal(0.0, 0.1, N),
            "country": rng.normal(0.0, 0.05, N),
        },
        index=features.index,
    )
    return Explanation(-3.0, contributions, 1.0)


def _tick_labels(figure) -> list[str]:
    return [t.get_text() for t in figure.axes[0].get_yticklabels()]


def test_summary_rows_are_drivers_by_importance_named_with_their_colour_feature(
    explanation, features
):
    figure = plot_shap_summary(explanation, features, n_drivers=3)

    by_driver = explanation.by_driver()
    top = top_features(by_driver, 3)
    labels = {
        "logins": "Logins (logins_30d)",
        "payments": "Failed payments (failed_payments_90d)",
        "nps": "NPS (last_nps)",
        "country": "Country (country)",
    }
    # Most important on top: matplotlib lists tick labels bottom-up.
    assert _tick_labels(figure) == [labels[name] for name in reversed(top)]
    colour_bar = figure.axes[1]
    assert "feature in brackets" in colour_bar.get_ylabel()
    assert "driver contribution" in figure.axes[0].get_xlabel()


def test_summary_dots_are_the_driver_sums(explanation, features):
    figure = plot_shap_summary(explanation, features, n_drivers=1)

    top = top_features(explanation.by_driver(), 1)[0]
    dots = np.concatenate(
        [
            c.get_offsets()[:, 0]
            for c in figure.axes[0].collections
            if len(c.get_offsets())
        ]
    )
    expected = explanation.by_driver().contributions[top].to_numpy()
    np.testing.assert_allclose(np.sort(dots), np.sort(expected))


def test_an_absent_primary_feature_gives_way_to_the_drivers_first(features):
    contributions = pd.DataFrame({"logins_7d": [0.2, -0.1]})

    figure = plot_shap_summary(Explanation(0.0, contributions, 1.0), features.iloc[:2])

    assert _tick_labels(figure) == ["Logins (logins_7d)"]


def test_driver_importance_bars_largest_on_top_coloured_by_theme():
    importance = pd.DataFrame(
        {
            "driver": ["payments", "logins", "nps"],
            "label": ["Failed payments", "Logins", "NPS"],
            "theme": ["payment", "usage", "sentiment"],
            "mean_abs_shap": [0.5, 0.9, 0.1],
        }
    )

    figure = plot_driver_importance(importance, top_n=2)

    axis = figure.axes[0]
    assert _tick_labels(figure) == ["Failed payments", "Logins"]
    assert [p.get_width() for p in axis.patches] == [0.5, 0.9]
    legend = [t.get_text() for t in axis.get_legend().get_texts()]
    assert legend == ["payment", "usage", "sentiment"]
    assert axis.patches[0].get_facecolor() != axis.patches[1].get_facecolor()


def test_waterfall_steps_lead_from_the_base_value_to_the_score(explanation, features):
    figure = plot_waterfall(explanation, features, row=3, n_features=2)

    bars = figure.axes[0].patches
    score = explanation.base_value + explanation.contributions.iloc[3].sum()
    assert len(bars) == 3  # two features, the other three summed
    assert bars[0].get_x() == pytest.approx(explanation.base_value)
    last = bars[-1]
    assert last.get_x() + last.get_width() == pytest.approx(score)
