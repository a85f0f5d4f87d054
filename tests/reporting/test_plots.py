"""The gains/lift, score-distribution and backtest figures: content and errors."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from churn_pipeline.reporting.plots import (
    BACKTEST_METRICS,
    plot_backtest,
    plot_gains_and_lift,
    plot_score_distributions,
)

MODELS = ["xgboost", "lightgbm", "logistic_regression", "ensemble"]


@pytest.fixture
def labelled() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    y = (rng.random(300) < 0.2).astype(int)
    y[:2] = [0, 1]  # both classes, always
    probability = 1.0 / (1.0 + np.exp(-(rng.normal(size=300) + 1.5 * y - 1.5)))
    return y, probability


@pytest.fixture
def backtest_table() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    origins = pd.date_range("2024-01-31", periods=4, freq="ME")
    rows = [
        {"origin": origin, "model": model}
        | {metric: float(rng.random()) for metric in BACKTEST_METRICS}
        for origin in origins
        for model in MODELS
    ]
    # Shuffled, so the plot has to sort by origin itself.
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0).reset_index(drop=True)


def _labels(axis) -> list[str]:
    return [line.get_label() for line in axis.get_lines()]


# ------------------------------------------------------------------ gains/lift
def test_gains_and_lift_panels_and_lines(labelled) -> None:
    y, p = labelled
    scores = {"ensemble": p, "noise": np.random.default_rng(1).random(y.size)}

    figure = plot_gains_and_lift(y, scores)

    assert isinstance(figure, Figure)
    gains, lift = figure.axes
    assert _labels(gains) == ["ensemble", "noise", "random", "perfect"]
    assert _labels(lift) == ["ensemble", "noise", "random"]
    for line in gains.get_lines():
        assert line.get_xydata()[-1] == pytest.approx([1.0, 1.0])
    for line in gains.get_lines()[:2]:
        assert line.get_xydata()[0] == pytest.approx([0.0, 0.0])
    # Perfect model: every churner caught once the churn rate is targeted.
    perfect = gains.get_lines()[3].get_xydata()
    assert perfect[1] == pytest.approx([y.mean(), 1.0])
    # Lift = gains / share, ending at 1 when everyone is targeted.
    for gain_line, lift_line in zip(
        gains.get_lines()[:2], lift.get_lines()[:2], strict=True
    ):
        share, caught = gain_line.get_xydata()[1:].T
        np.testing.assert_allclose(lift_line.get_ydata(), caught / share)
        assert lift_line.get_ydata()[-1] == pytest.approx(1.0)
    assert lift.get_lines()[2].get_ydata() == pytest.approx([1.0, 1.0])


def test_perfect_scorer_matches_perfect_curve(labelled) -> None:
    y, _ = labelled

    gains = plot_gains_and_lift(y, {"oracle": y.astype(float)}).axes[0]

    oracle, _, perfect = gains.get_lines()
    share, caught = oracle.get_xydata().T
    np.testing.assert_allclose(caught, np.minimum(share / y.mean(), 1.0))
    assert perfect.get_xydata()[1] == pytest.approx([y.mean(), 1.0])


@pytest.mark.parametrize(
    ("y_true", "score", "message"),
    [
        ([0, 1, 0], [0.1, 0.9], "same length"),
        ([], [], "must not be empty"),
        ([0, 2, 1], [0.1, 0.5, 0.9], "only 0 and 1"),
        ([1, 1, 1], [0.1, 0.5, 0.9], "only churners"),
    ],
)
def test_gains_and_lift_rejects_bad_input(y_true, score, message) -> None:
    with pytest.raises(ValueError, match=message):
        plot_gains_and_lift(np.asarray(y_true), {"model": np.asarray(score)})


def test_gains_and_lift_names_the_bad_scorer() -> None:
    y = np.array([0, 1, 0, 1])
    scores = {"good": np.array([0.1, 0.9, 0.2, 0.8]), "short": np.array([0.5])}
    with pytest.raises(ValueError, match=r"scores\['short'\]"):
        plot_gains_and_lift(y, scores)


def test_gains_and_lift_needs_a_scorer() -> None:
    with pytest.raises(ValueError, match="at least one scorer"):
        plot_gains_and_lift(np.array([0, 1]), {})


# --------------------------------------------------------- score distributions
def test_score_distributions_counts_and_density(labelled) -> None:
    y, p = labelled

    figure = plot_score_distributions(y, p, bins=25)

    (axis,) = figure.axes
    texts = [text.get_text() for text in axis.get_legend().get_texts()]
    found = [re.search(r"\((\d)\), n=([\d,]+)", text) for text in texts]
    counts = {int(m[1]): int(m[2].replace(",", "")) for m in found}
    assert counts == {0: int((y == 0).sum()), 1: int((y == 1).sum())}
    assert len(axis.containers) == 2
    for bars in axis.containers:
        assert len(bars) == 25
        heights = np.array([bar.get_height() for bar in bars])
        widths = np.array([bar.get_width() for bar in bars])
        assert (heights * widths).sum() == pytest.approx(1.0)  # density
        # Shared bins over [0, max probability].
        assert bars[0].get_x() == pytest.approx(0.0)
        assert bars[-1].get_x() + bars[-1].get_width() == pytest.approx(p.max())


@pytest.mark.parametrize(
    ("y_true", "probability", "message"),
    [
        ([0, 1, 0], [0.1, 0.9], "same length"),
        ([], [], "must not be empty"),
        ([0, -1, 1], [0.1, 0.5, 0.9], "only 0 and 1"),
        ([0, 0, 0], [0.1, 0.5, 0.9], "only non-churners"),
        ([0, 1, 0], [0.1, 1.5, 0.9], r"within \[0, 1\]"),
    ],
)
def test_score_distributions_rejects_bad_input(y_true, probability, message) -> None:
    with pytest.raises(ValueError, match=message):
        plot_score_distributions(np.asarray(y_true), np.asarray(probability))


def test_score_distributions_rejects_bad_bins(labelled) -> None:
    y, p = labelled
    with pytest.raises(ValueError, match="bins must be >= 1"):
        plot_score_distributions(y, p, bins=0)


# -------------------------------------------------------------------- backtest
@pytest.mark.parametrize("metrics", [("roc_auc", "empc", "brier"), ("ece",)])
def test_backtest_one_panel_per_metric(backtest_table, metrics) -> None:
    figure = plot_backtest(backtest_table, metrics)

    assert len(figure.axes) == len(metrics)
    for axis, metric in zip(figure.axes, metrics, strict=True):
        assert axis.get_ylabel() == metric
        assert sorted(_labels(axis)) == sorted(MODELS)
        for line in axis.get_lines():
            expected = backtest_table[backtest_table["model"] == line.get_label()]
            expected = expected.sort_values("origin")[metric].to_numpy()
            np.testing.assert_allclose(line.get_ydata(), expected)
            assert line.get_marker() == "o"


def test_backtest_draws_ensemble_thicker(backtest_table) -> None:
    (axis,) = plot_backtest(backtest_table, ["roc_auc"]).axes

    widths = {line.get_label(): line.get_linewidth() for line in axis.get_lines()}
    others = [width for model, width in widths.items() if model != "ensemble"]
    assert widths["ensemble"] > max(others)


def test_backtest_default_metrics(backtest_table) -> None:
    figure = plot_backtest(backtest_table)
    assert [axis.get_ylabel() for axis in figure.axes] == ["roc_auc", "empc", "brier"]


def test_backtest_rejects_unknown_metric(backtest_table) -> None:
    with pytest.raises(ValueError, match=r"unknown metrics.*'auc'.*allowed.*pr_auc"):
        plot_backtest(backtest_table, ["roc_auc", "auc"])


def test_backtest_rejects_missing_columns(backtest_table) -> None:
    table = backtest_table.drop(columns=["empc", "model"])
    with pytest.raises(ValueError, match=r"\['model', 'empc'\].*available.*roc_auc"):
        plot_backtest(table)


@pytest.mark.parametrize("metrics", [(), []])
def test_backtest_rejects_no_metrics(backtest_table, metrics) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        plot_backtest(backtest_table, metrics)


def test_backtest_rejects_empty_table(backtest_table) -> None:
    with pytest.raises(ValueError, match="empty"):
        plot_backtest(backtest_table.iloc[:0])


def test_backtest_rejects_non_datetime_origin(backtest_table) -> None:
    table = backtest_table.assign(origin=backtest_table["origin"].astype(str))
    with pytest.raises(ValueError, match="datetime64"):
        plot_backtest(table)


def test_backtest_rejects_repeated_rows(backtest_table) -> None:
    table = pd.concat([backtest_table, backtest_table.iloc[:1]])
    with pytest.raises(ValueError, match="repeated"):
        plot_backtest(table)
