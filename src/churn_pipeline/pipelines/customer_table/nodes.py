"""One row per customer: validate by configuration, cross-validate, fit, score.

Nothing here knows a particular dataset: the id, the label and its values, the
numeric and categorical columns and the columns to drop all come from the
``customer_table`` parameters.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from sklearn.model_selection import StratifiedKFold

from churn_pipeline.evaluation.backtest import score_metrics
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.pipelines.model_training.nodes import build_ensemble
from churn_pipeline.validation import validate_with_schema

logger = logging.getLogger(__name__)

TABLE = "customers"


def _schema(params: dict[str, Any]) -> pa.DataFrameSchema:
    label_values = [*params["positive_labels"], *params["negative_labels"]]
    columns = {
        params["id_column"]: pa.Column(
            str, unique=True, report_duplicates="exclude_first"
        ),
        params["label_column"]: pa.Column(str, pa.Check.isin(label_values)),
        **{c: pa.Column(float, nullable=True) for c in params["numeric_columns"]},
        **{c: pa.Column(str, nullable=True) for c in params["categorical_columns"]},
        **{c: pa.Column(nullable=True) for c in params["drop_columns"]},
    }
    return pa.DataFrameSchema(columns, name=TABLE, strict=True, coerce=True)


def _blank_to_missing(raw: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    # Exports often write a missing number as an empty or blank string; that is
    # "unknown", not a malformed value, so it must not reject the row.
    cleaned = raw.copy()
    for column in columns:
        if cleaned[column].dtype == object:
            blank = cleaned[column].astype(str).str.strip().eq("")
            cleaned[column] = cleaned[column].mask(blank, np.nan)
    return cleaned


def prepare_customer_table(
    raw: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Validate a one-row-per-customer table and give it the model's layout.

    Args:
        raw: The customer table as exported.
        params: ``customer_table`` parameters.

    Returns:
        Customers (``account_id``, features, ``label``, ``as_of_date``), rejected
        rows with their rules, and the validation report.
    """
    data = raw
    if params.get("blank_as_missing", True):
        present = [c for c in params["numeric_columns"] if c in raw.columns]
        data = _blank_to_missing(raw, present)
    result = validate_with_schema(
        TABLE,
        data,
        _schema(params),
        key=[params["id_column"]],
        mode=params["mode"],
    )
    accepted = result.accepted
    features = [*params["numeric_columns"], *params["categorical_columns"]]
    customers = accepted[features].copy()
    customers.insert(0, "account_id", accepted[params["id_column"]].to_numpy())
    is_positive = accepted[params["label_column"]].isin(params["positive_labels"])
    customers["label"] = is_positive.astype(float).to_numpy()
    customers["as_of_date"] = pd.Timestamp(params["as_of_date"])
    counts = result.counts()
    report = {
        "tables": {TABLE: counts},
        "absent_tables": [],
        **{k: counts[k] for k in ("rows_in", "rows_accepted", "rows_rejected")},
    }
    logger.info(
        "Customer table: %d customers, churn rate %.2f%%, %d numeric and %d "
        "categorical features",
        len(customers),
        100 * customers["label"].mean(),
        len(params["numeric_columns"]),
        len(params["categorical_columns"]),
    )
    return customers, result.rejected, report


def _ensemble(params: dict[str, Any], training: dict[str, Any]) -> ChurnEnsemble:
    return build_ensemble(
        list(params["numeric_columns"]), list(params["categorical_columns"]), training
    )


def cross_validate(
    customers: pd.DataFrame,
    params: dict[str, Any],
    training: dict[str, Any],
    profit: dict[str, Any],
) -> dict[str, float]:
    """Stratified k-fold test metrics of the ensemble and each member.

    Every fold fits the whole ensemble (members, weights, calibration) on the
    other folds only, so each test fold is unseen.

    Args:
        customers: Output of :func:`prepare_customer_table`.
        params: ``customer_table`` parameters (``cv_folds``).
        training: ``model_training`` parameters.
        profit: ``profit`` parameters.

    Returns:
        ``cv_<metric>_mean`` / ``cv_<metric>_sd`` for the ensemble and
        ``<member>_cv_<metric>_mean`` / ``_sd`` for each member.
    """
    folds = StratifiedKFold(
        n_splits=params["cv_folds"], shuffle=True, random_state=training["random_state"]
    )
    y = customers["label"].to_numpy(dtype=int)
    per_fold: dict[str, list[float]] = {}
    for fold, (train, test) in enumerate(folds.split(customers, y), start=1):
        model = _ensemble(params, training).fit(customers.iloc[train], y[train])
        rows = customers.iloc[test]
        scores = {
            "ensemble": model.predict_proba(rows)[:, 1],
            **model.member_probabilities(rows),
        }
        for name, score in scores.items():
            prefix = "cv_" if name == "ensemble" else f"{name}_cv_"
            for metric, value in score_metrics(y[test], score, profit).items():
                per_fold.setdefault(prefix + metric, []).append(float(value))
        logger.info(
            "Fold %d/%d: ROC AUC %.3f, EMPC %.3f",
            fold,
            params["cv_folds"],
            per_fold["cv_roc_auc"][-1],
            per_fold["cv_empc"][-1],
        )
    metrics: dict[str, float] = {"cv_folds": float(params["cv_folds"])}
    for name, values in per_fold.items():
        metrics[f"{name}_mean"] = float(np.mean(values))
        metrics[f"{name}_sd"] = float(np.std(values, ddof=1))
    logger.info(
        "Cross-validated ROC AUC %.3f +/- %.3f, EMPC %.3f +/- %.3f",
        metrics["cv_roc_auc_mean"],
        metrics["cv_roc_auc_sd"],
        metrics["cv_empc_mean"],
        metrics["cv_empc_sd"],
    )
    return metrics


def fit_customer_model(
    customers: pd.DataFrame, params: dict[str, Any], training: dict[str, Any]
) -> ChurnEnsemble:
    """Fit the ensemble on every customer (the cross-validation judged it).

    Args:
        customers: Output of :func:`prepare_customer_table`.
        params: ``customer_table`` parameters.
        training: ``model_training`` parameters.

    Returns:
        The fitted ensemble.
    """
    return _ensemble(params, training).fit(customers, customers["label"])


def select_current_customers(customers: pd.DataFrame) -> pd.DataFrame:
    """The customers who have not churned: the ones worth scoring.

    Args:
        customers: Output of :func:`prepare_customer_table`.

    Returns:
        Customers whose label is 0.
    """
    return customers[customers["label"] == 0].reset_index(drop=True)
