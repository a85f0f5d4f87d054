"""Split snapshots in time and fit the churn ensemble on the training slice."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from churn_pipeline.features import available_features, feature_names
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.time_split import labels_known_by

logger = logging.getLogger(__name__)


def split_snapshots(
    model_input_table: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split the model input table into train, out-of-time test and scoring sets.

    The newest ``n_test_snapshots`` labelled as-of dates are the test set. Training
    keeps only as-of dates whose label window closes by the first test date, so
    no training label comes from the test period. The newest as-of date, which
    has no label yet, is what gets scored.

    Args:
        model_input_table: Features and labels per (account, as-of date).
        params: ``model_training`` parameters.

    Returns:
        ``train``, ``test`` and ``scoring`` tables.

    Raises:
        ValueError: If there are too few labelled as-of dates.
    """
    labelled = model_input_table[model_input_table["is_labelled"]]
    dates = sorted(labelled["as_of_date"].unique())
    n_test = params["n_test_snapshots"]
    if len(dates) <= n_test:
        raise ValueError(
            f"Need more than n_test_snapshots={n_test} labelled as-of dates, "
            f"got {len(dates)}"
        )
    test_start = pd.Timestamp(dates[-n_test])
    is_test = labelled["as_of_date"] >= test_start
    is_train = labels_known_by(
        labelled["as_of_date"], test_start, params["horizon_days"]
    )
    train = labelled[is_train].reset_index(drop=True)
    test = labelled[is_test].reset_index(drop=True)
    unlabelled = model_input_table[~model_input_table["is_labelled"]]
    scoring = unlabelled[
        unlabelled["as_of_date"] == unlabelled["as_of_date"].max()
    ].reset_index(drop=True)
    logger.info(
        "Split: train %d rows (%s .. %s), test %d rows (%s .. %s), scoring %d rows "
        "at %s",
        len(train),
        train["as_of_date"].min().date(),
        train["as_of_date"].max().date(),
        len(test),
        test_start.date(),
        test["as_of_date"].max().date(),
        len(scoring),
        scoring["as_of_date"].max().date() if len(scoring) else None,
    )
    return train, test, scoring


def train_ensemble(
    train: pd.DataFrame, params: dict[str, Any], validation_report: dict[str, Any]
) -> ChurnEnsemble:
    """Fit the calibrated ensemble on training snapshots only.

    Features computed from an absent optional table, or from a column the data
    does not have (e.g. no active-user counts), are left out of the model.

    Args:
        train: Training snapshots with features and ``label``.
        params: ``model_training`` parameters.
        validation_report: Row accounting, including ``absent_tables`` and
            each table's ``columns``.

    Returns:
        The fitted ensemble.
    """
    absent = validation_report.get("absent_tables", [])
    columns = {
        table: counts["columns"]
        for table, counts in validation_report.get("tables", {}).items()
        if "columns" in counts
    }
    features = available_features(absent, columns)
    left_out = sorted(set(feature_names()) - {f.name for f in features})
    if left_out:
        logger.warning(
            "Features left out (absent tables %s or missing columns): %s",
            absent,
            left_out,
        )
    model = build_ensemble(
        [f.name for f in features if f.kind == "numeric"],
        [f.name for f in features if f.kind == "categorical"],
        params,
    )
    return model.fit(train, train["label"], periods=train["as_of_date"])


def build_ensemble(
    numeric: list[str], categorical: list[str], params: dict[str, Any]
) -> ChurnEnsemble:
    """An unfitted ensemble for these features, configured by ``params``.

    Monotone constraints on features the model does not get are dropped, so one
    set of domain priors serves every dataset.

    Args:
        numeric: Numeric feature columns.
        categorical: Categorical feature columns.
        params: ``model_training`` parameters.

    Returns:
        The ensemble, ready to ``fit``.
    """
    constraints = {
        name: sign
        for name, sign in (params["monotone_constraints"] or {}).items()
        if name in numeric
    }
    return ChurnEnsemble(
        numeric_features=numeric,
        categorical_features=categorical,
        xgboost_params=params["xgboost"],
        logistic_regression_params=params["logistic_regression"],
        monotone_constraints=constraints,
        n_calibration_periods=params["n_calibration_snapshots"],
        horizon_days=params["horizon_days"],
        calibration_fraction=params.get("calibration_fraction", 0.25),
        random_state=params["random_state"],
    )
