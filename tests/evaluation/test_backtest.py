"""The rolling-origin backtest and its summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.models import synthetic
from threadpoolctl import threadpool_limits

from churn_pipeline.evaluation.backtest import (
    BACKTEST_METRICS,
    ENSEMBLE,
    backtest_origins,
    comparison_markdown,
    rolling_origin_backtest,
    score_metrics,
    single_member_share,
    summarise_backtest,
)
from churn_pipeline.evaluation.time_split import labels_known_by
from churn_pipeline.models.baseline import BASELINE, default_xgboost, single_member

DATES = pd.date_range("2023-08-31", periods=9, freq="ME")
MODELS = {ENSEMBLE, "xgboost", "lightgbm", "logistic_regression", BASELINE}


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    return synthetic.make_snapshots(DATES, 300, seed=4)


def _backtest(table: pd.DataFrame, n_origins: int = 2) -> pd.DataFrame:
    with threadpool_limits(limits=1, user_api="blas"):
        return rolling_origin_backtest(
            table,
            synthetic.make_model(),
            n_origins=n_origins,
            horizon_days=synthetic.HORIZON_DAYS,
            profit=synthetic.PROFIT_PARAMS,
        )


@pytest.fixture(scope="module")
def results(labelled: pd.DataFrame) -> pd.DataFrame:
    return _backtest(labelled)


def test_origins_are_the_newest_dates_oldest_first() -> None:
    dates = pd.Series(list(DATES) * 2)
    assert backtest_origins(dates, 3) == list(DATES[-3:])


@pytest.mark.parametrize(
    ("n_origins", "match"),
    [(0, "n_origins must be >= 1"), (9, "needs more labelled as-of dates")],
)
def test_bad_origin_counts_are_rejected(n_origins: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        backtest_origins(pd.Series(DATES), n_origins)


def test_one_row_per_origin_and_model(results: pd.DataFrame) -> None:
    assert len(results) == 2 * len(MODELS)
    assert set(results["model"]) == MODELS
    assert sorted(results["origin"].unique()) == list(DATES[-2:])
    for metric in BACKTEST_METRICS:
        assert results[metric].notna().all()


def test_each_origin_trains_only_on_labels_closed_by_it(
    labelled: pd.DataFrame, results: pd.DataFrame
) -> None:
    for origin, rows in results.groupby("origin"):
        known = labels_known_by(labelled["as_of_date"], origin, synthetic.HORIZON_DAYS)
        assert (rows["train_rows"] == known.sum()).all()
        assert (rows["test_rows"] == (labelled["as_of_date"] == origin).sum()).all()


def test_baseline_is_judged_beside_the_ensemble_on_the_same_rows(
    results: pd.DataFrame,
) -> None:
    columns = ["origin", "train_rows", "test_rows", "churn_rate"]
    ensemble = results[results["model"] == ENSEMBLE][columns].reset_index(drop=True)
    baseline = results[results["model"] == BASELINE][columns].reset_index(drop=True)

    pd.testing.assert_frame_equal(baseline, ensemble)


def test_an_origin_refitted_by_hand_gives_the_same_baseline_and_blend(
    labelled: pd.DataFrame, results: pd.DataFrame
) -> None:
    # Refit it by hand at the newest origin: every row whose label is known,
    # no calibration slice held out, the ensemble's features and seed.
    model = synthetic.make_model()
    origin = DATES[-1]
    train = labelled[
        labels_known_by(labelled["as_of_date"], origin, synthetic.HORIZON_DAYS)
    ]
    test = labelled[labelled["as_of_date"] == origin]
    fitted = synthetic.fit(model, train)
    baseline = default_xgboost(
        fitted.numeric_features_,
        fitted.categorical_features_,
        random_state=model.random_state,
    ).fit(train, train["label"])
    expected = score_metrics(
        test["label"].to_numpy(dtype=int),
        baseline.predict_proba(test)[:, 1],
        synthetic.PROFIT_PARAMS,
    )

    row = results[(results["model"] == BASELINE) & (results["origin"] == origin)]
    for metric in BACKTEST_METRICS:
        assert row[metric].item() == pytest.approx(expected[metric], rel=1e-9)
    at_origin = results[results["origin"] == origin]
    assert set(at_origin["single_member"]) == {single_member(fitted.weights_) or ""}


def test_later_rows_never_change_an_earlier_origin(
    labelled: pd.DataFrame, results: pd.DataFrame
) -> None:
    # Flip every label at the newest origin: the older origin's numbers stay.
    newest = labelled["as_of_date"] == DATES[-1]
    flipped = labelled.assign(
        label=np.where(newest, 1 - labelled["label"], labelled["label"])
    )
    again = _backtest(flipped)

    older = results["origin"] == DATES[-2]
    pd.testing.assert_frame_equal(
        again[older].reset_index(drop=True), results[older].reset_index(drop=True)
    )
    assert not again[~older]["roc_auc"].equals(results[~older]["roc_auc"])


def test_same_seed_gives_the_same_backtest(
    labelled: pd.DataFrame, results: pd.DataFrame
) -> None:
    pd.testing.assert_frame_equal(_backtest(labelled), results)


def test_summary_is_mean_and_sample_sd_with_the_ensemble_first() -> None:
    rows = []
    for origin, empc in zip(DATES[:3], (1.0, 2.0, 4.0), strict=True):
        for model, shift in ((ENSEMBLE, 0.0), ("xgboost", 1.0)):
            rows.append(
                {
                    "origin": origin,
                    "model": model,
                    **dict.fromkeys(BACKTEST_METRICS, 0.0),
                }
                | {"empc": empc + shift}
            )
    summary = summarise_backtest(pd.DataFrame(rows))

    assert list(summary.index) == [ENSEMBLE, "xgboost"]
    frame = pd.DataFrame(rows)
    ordered = summarise_backtest(
        pd.concat(
            [
                frame.replace({"model": {"xgboost": "lightgbm"}}),
                frame[frame["model"] == "xgboost"].assign(model=BASELINE),
            ]
        )
    )
    # The baseline right after the ensemble, the members after it.
    assert list(ordered.index) == [ENSEMBLE, BASELINE, "lightgbm"]
    assert summary.loc[ENSEMBLE, "empc_mean"] == pytest.approx(7 / 3)
    assert summary.loc[ENSEMBLE, "empc_sd"] == pytest.approx(np.std([1, 2, 4], ddof=1))
    assert summary.loc["xgboost", "empc_mean"] == pytest.approx(10 / 3)
    assert summary.loc[ENSEMBLE, "brier_sd"] == 0.0


def test_single_origin_has_zero_spread(results: pd.DataFrame) -> None:
    one = results[results["origin"] == DATES[-1]]
    assert (summarise_backtest(one).filter(like="_sd") == 0.0).all().all()


def test_comparison_table_shows_mean_and_sd(results: pd.DataFrame) -> None:
    summary = summarise_backtest(results)
    table = comparison_markdown(summary).splitlines()

    assert table[0] == "| model | " + " | ".join(BACKTEST_METRICS) + " |"
    assert len(table) == 2 + len(MODELS)
    assert table[3].startswith(f"| {BASELINE} | ")
    ensemble = summary.loc[ENSEMBLE]
    assert table[2].startswith(
        f"| ensemble | {ensemble['roc_auc_mean']:.4f} ± {ensemble['roc_auc_sd']:.4f} |"
    )


@pytest.mark.parametrize(
    ("per_origin", "share", "members"),
    [
        (["", "", ""], 0.0, []),
        (["xgboost", "", ""], 1 / 3, ["xgboost"]),
        (["lightgbm", "xgboost", "xgboost"], 1.0, ["lightgbm", "xgboost"]),
        # As read back from the CSV artifact: empty cells are NaN.
        ([np.nan, "xgboost"], 0.5, ["xgboost"]),
    ],
)
def test_single_member_share_counts_origins_not_rows(
    per_origin: list[object], share: float, members: list[str]
) -> None:
    rows = [
        {"origin": origin, "model": model, "single_member": only}
        for origin, only in zip(DATES, per_origin, strict=False)
        for model in (ENSEMBLE, "xgboost", BASELINE)
    ]

    assert single_member_share(pd.DataFrame(rows)) == (pytest.approx(share), members)
