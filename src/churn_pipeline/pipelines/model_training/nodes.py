"""Split snapshots in time and fit the churn ensemble on the training slice."""

from __future__ import annotations

import logging
from typing import Any

import mlflow
import pandas as pd

from churn_pipeline.datasets.parquet_table import TableData
from churn_pipeline.evaluation.backtest import backtest_origins
from churn_pipeline.evaluation.history import HistoryError, check_history
from churn_pipeline.evaluation.snapshots import (
    SAMPLE_WEIGHT,
    Snapshots,
    training_sample,
    tuning_sample,
    weights_of,
)
from churn_pipeline.features import available_features, feature_names
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.models.monotone import applicable_constraints
from churn_pipeline.models.tuning import tune_members

logger = logging.getLogger(__name__)


def split_snapshots(
    model_input_table: TableData,
    params: dict[str, Any],
    evaluation: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split the model input table into train, out-of-time test and scoring sets.

    The newest ``n_test_snapshots`` labelled as-of dates are the test set. Training
    keeps only as-of dates whose label window closes by the first test date, so
    no training label comes from the test period; above
    ``sampling.max_training_rows`` it keeps a deterministic sample, churners
    first (every one while they fill at most half the cap, else half the cap
    each), weighted back (``sample_weight``). The newest as-of
    date, which has no label yet, is what gets scored. The table is read
    slice by slice through DuckDB (:mod:`churn_pipeline.evaluation.snapshots`).

    Args:
        model_input_table: Features and labels per (account, as-of date): a
            Parquet file reference or a frame.
        params: ``model_training`` parameters.
        evaluation: ``model_evaluation`` parameters: every slice the run will
            fit or judge on is checked here, before any fit (``None``: only that
            there are test dates).

    Returns:
        ``train`` (features as float32, with ``sample_weight``), ``test`` (every
        row) and ``scoring`` tables.

    Raises:
        HistoryError: If a training, test, backtest or tuning slice would be
            empty; the message names each slice, its dates and its parameter.
    """
    snapshots = Snapshots(model_input_table)
    dates = snapshots.labelled_dates()
    n_test = params["n_test_snapshots"]
    if evaluation is not None:
        check_history(pd.DataFrame({"as_of_date": dates}), params, evaluation)
    elif len(dates) <= n_test:
        raise HistoryError(
            f"Need more than model_training.n_test_snapshots={n_test} labelled "
            f"as-of dates, got {len(dates)}"
        )
    test_start = pd.Timestamp(dates[-n_test])
    train = training_sample(
        snapshots,
        last=test_start - pd.Timedelta(days=params["horizon_days"]),
        max_rows=max_training_rows(params),
        seed=params["random_state"],
    )
    test = snapshots.read(first=test_start).drop(columns=SAMPLE_WEIGHT)
    scoring = snapshots.scoring_rows()
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


def max_training_rows(params: dict[str, Any]) -> int | None:
    """``sampling.max_training_rows`` of the ``model_training`` parameters."""
    return (params.get("sampling") or {}).get("max_training_rows")


def model_features(validation_report: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Numeric and categorical registry features this data can feed.

    Features computed from an absent optional table, or from a column the data
    does not have (e.g. no active-user counts), are left out of the model.

    Args:
        validation_report: Row accounting, including ``absent_tables`` and
            each table's ``columns``.

    Returns:
        Numeric and categorical feature names.
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
    return (
        [f.name for f in features if f.kind == "numeric"],
        [f.name for f in features if f.kind == "categorical"],
    )


def configured_ensemble(
    params: dict[str, Any],
    validation_report: dict[str, Any],
    tuned_params: dict[str, dict[str, Any]],
) -> ChurnEnsemble:
    """The unfitted ensemble: configured members, tuned arguments on top.

    Args:
        params: ``model_training`` parameters.
        validation_report: Row accounting (which features the data can feed).
        tuned_params: Member -> tuned estimator arguments (may be empty).

    Returns:
        The ensemble, ready to ``fit``.
    """
    members = {
        name: {**(member or {}), **tuned_params.get(name, {})}
        for name, member in params["members"].items()
    }
    return build_ensemble(
        *model_features(validation_report), {**params, "members": members}
    )


def tune_hyperparameters(
    model_input_table: TableData,
    params: dict[str, Any],
    evaluation: dict[str, Any],
    profit: dict[str, Any],
    validation_report: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Tune the members named in ``params["tuning"]`` with Optuna.

    Only labelled rows whose labels close before the first backtest origin are
    read (no origin is judged with hyperparameters chosen on its own or later
    labels), and at most ``tuning.max_rows`` of them per slice
    (:func:`~churn_pipeline.evaluation.snapshots.tuning_sample`).

    Args:
        model_input_table: All snapshots, as a file reference or a frame.
        params: ``model_training`` parameters (``tuning`` block).
        evaluation: ``model_evaluation`` parameters (``backtest_origins``).
        profit: ``profit`` parameters (EMPC is the objective).
        validation_report: Row accounting (which features the data can feed).

    Returns:
        Member -> best arguments; empty when ``n_trials`` is 0.
    """
    tuning = params["tuning"]
    snapshots = Snapshots(model_input_table)
    dates = snapshots.labelled_dates()
    # The same check as the split's: whichever node runs first names the slices.
    check_history(pd.DataFrame({"as_of_date": dates}), params, evaluation)
    if not tuning["n_trials"] or not tuning.get("search_space"):
        logger.info("Tuning off (n_trials 0 or no search_space)")
        return {}
    model = configured_ensemble(params, validation_report, {})
    origins = backtest_origins(pd.Series(dates), evaluation["backtest_origins"])
    rows = tuning_sample(
        snapshots,
        first_origin=origins[0],
        horizon_days=params["horizon_days"],
        n_validation=tuning["n_validation_snapshots"],
        max_rows=tuning.get("max_rows"),
        seed=params["random_state"],
        columns=[*model.numeric_features, *model.categorical_features],
    )
    return tune_members(
        rows,
        model,
        search_space=tuning["search_space"],
        n_trials=tuning["n_trials"],
        n_validation_periods=tuning["n_validation_snapshots"],
        profit=profit,
        timeout_minutes=tuning.get("timeout_minutes"),
    )


def log_tuned_params(tuned_params: dict[str, dict[str, Any]]) -> None:
    """Log the tuned arguments as MLflow params ``tuned.<member>.<argument>``."""
    mlflow.log_params(
        {
            f"tuned.{member}.{name}": value
            for member, arguments in tuned_params.items()
            for name, value in arguments.items()
        }
    )


def train_ensemble(
    train: pd.DataFrame,
    params: dict[str, Any],
    validation_report: dict[str, Any],
    tuned_params: dict[str, dict[str, Any]],
) -> ChurnEnsemble:
    """Fit the calibrated ensemble on training snapshots only.

    Args:
        train: Training snapshots with features and ``label`` (and
            ``sample_weight`` when the split sampled them).
        params: ``model_training`` parameters.
        validation_report: Row accounting (which features the data can feed).
        tuned_params: Member -> tuned estimator arguments (may be empty).

    Returns:
        The fitted ensemble.
    """
    model = configured_ensemble(params, validation_report, tuned_params)
    return model.fit(
        train,
        train["label"],
        periods=train["as_of_date"],
        sample_weight=weights_of(train),
    )


def build_ensemble(
    numeric: list[str], categorical: list[str], params: dict[str, Any]
) -> ChurnEnsemble:
    """An unfitted ensemble for these features, configured by ``params``.

    Monotone constraint patterns no feature matches are dropped, with a log line,
    so one set of domain priors serves every dataset.

    Args:
        numeric: Numeric feature columns.
        categorical: Categorical feature columns.
        params: ``model_training`` parameters.

    Returns:
        The ensemble, ready to ``fit``.
    """
    constraints = applicable_constraints(params["monotone_constraints"], numeric)
    return ChurnEnsemble(
        numeric_features=numeric,
        categorical_features=categorical,
        members=params["members"],
        monotone_constraints=constraints,
        class_weight=params.get("class_weight"),
        n_calibration_periods=params["n_calibration_snapshots"],
        horizon_days=params["horizon_days"],
        calibration_fraction=params.get("calibration_fraction", 0.25),
        random_state=params["random_state"],
    )
