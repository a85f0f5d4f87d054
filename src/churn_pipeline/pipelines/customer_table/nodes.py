"""One row per customer: validate by configuration, cross-validate, fit, score.

Nothing here knows a particular dataset: the id (or row numbers), the label and
its values, the columns, the value mapping, duplicate handling and the tuning
budget all come from the ``customer_table`` parameters. The work is done in
:mod:`churn_pipeline.customer_table`; these are the pipeline's nodes.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from churn_pipeline.config.customer_table import CustomerTableParameters
from churn_pipeline.customer_table.evaluate import (
    cross_validate_customers,
    customer_ensemble,
    fold_groups,
    tune_customer_members,
)
from churn_pipeline.customer_table.table import TABLE, validate_customers
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.models.baseline import single_member

logger = logging.getLogger(__name__)

DUPLICATES_METRIC = "customers_duplicate_rows"


def _settings(params: dict[str, Any]) -> CustomerTableParameters:
    # The model fills in the defaults of keys an environment's block leaves out.
    return CustomerTableParameters.model_validate(params)


def _check_both_classes(
    customers: pd.DataFrame, settings: CustomerTableParameters
) -> None:
    present = set(customers["label"].astype(int))
    if present == {0, 1}:
        return
    which = "positive" if 1 not in present else "negative"
    raise ValueError(
        f"Customer table: no accepted row has a {which} label, so there is nothing "
        f"to learn. customer_table.positive_labels {settings.positive_labels} and "
        f"negative_labels {settings.negative_labels} must both occur in column "
        f"{settings.label_column!r}"
    )


def prepare_customer_table(
    raw: pd.DataFrame, params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Validate a one-row-per-customer table and give it the model's layout.

    Args:
        raw: The customer table as exported (CSV, Parquet or Excel).
        params: ``customer_table`` parameters.

    Returns:
        Customers (``account_id``, features, ``label``, ``as_of_date``), rejected
        rows with their rules, and the validation report (with ``duplicates``).

    Raises:
        ValueError: On columns the table lacks, or a label with one class only.
        DataValidationError: In strict mode, on any broken rule.
    """
    settings = _settings(params)
    result, key, duplicates = validate_customers(raw, settings)
    accepted = result.accepted
    features = [*settings.numeric_columns, *settings.categorical_columns]
    customers = accepted[features].copy()
    customers.insert(0, "account_id", accepted[key].to_numpy())
    is_positive = accepted[settings.label_column].isin(settings.positive_labels)
    customers["label"] = is_positive.astype(float).to_numpy()
    customers["as_of_date"] = pd.Timestamp(settings.as_of_date)
    customers = customers.reset_index(drop=True)
    _check_both_classes(customers, settings)
    counts = {**result.counts(), "duplicate_rows": duplicates["duplicate_rows"]}
    report = {
        "tables": {TABLE: counts},
        "absent_tables": [],
        "duplicates": duplicates,
        **{k: counts[k] for k in ("rows_in", "rows_accepted", "rows_rejected")},
    }
    logger.info(
        "Customer table: %d customers, churn rate %.2f%%, %d numeric and %d "
        "categorical features",
        len(customers),
        100 * customers["label"].mean(),
        len(settings.numeric_columns),
        len(settings.categorical_columns),
    )
    return customers, result.rejected, report


def cross_validate(
    customers: pd.DataFrame,
    validation_report: dict[str, Any],
    params: dict[str, Any],
    training: dict[str, Any],
    profit: dict[str, Any],
) -> dict[str, float]:
    """Nested stratified k-fold test metrics: ensemble, members, baseline.

    Every fold tunes (``customer_table.tuning``) and fits the whole ensemble
    and a default XGBoost on the other folds only, so each test fold is unseen.
    Copies of a row share a fold when ``customer_table.duplicates`` is
    ``group``.

    Args:
        customers: Output of :func:`prepare_customer_table`.
        validation_report: Its report (the duplicate count is passed on).
        params: ``customer_table`` parameters.
        training: ``model_training`` parameters.
        profit: ``profit`` parameters.

    Returns:
        ``cv_<metric>_mean`` / ``_sd`` of the ensemble, ``<member>_cv_...``,
        ``baseline_xgboost_cv_...``, ``ensemble_single_member_share``,
        ``customers_duplicate_rows`` and ``cv_folds``.
    """
    metrics = cross_validate_customers(customers, _settings(params), training, profit)
    duplicates = validation_report.get("duplicates", {}).get("duplicate_rows", 0)
    return {**metrics, DUPLICATES_METRIC: float(duplicates)}


def tune_customer_model(
    customers: pd.DataFrame,
    params: dict[str, Any],
    training: dict[str, Any],
    profit: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Tune the final model's tree members on every customer.

    The same procedure each cross-validation fold ran on its training rows
    (inner folds, ``customer_table.tuning``), so the CV judged this choice.

    Args:
        customers: Output of :func:`prepare_customer_table`.
        params: ``customer_table`` parameters.
        training: ``model_training`` parameters (``tuning.search_space``).
        profit: ``profit`` parameters.

    Returns:
        Member -> tuned arguments; empty when tuning is off.
    """
    settings = _settings(params)
    groups = fold_groups(customers, settings)
    return tune_customer_members(customers, groups, settings, training, profit)


def fit_customer_model(
    customers: pd.DataFrame,
    params: dict[str, Any],
    training: dict[str, Any],
    tuned_params: dict[str, dict[str, Any]] | None = None,
) -> ChurnEnsemble:
    """Fit the ensemble on every customer (the cross-validation judged it).

    Args:
        customers: Output of :func:`prepare_customer_table`.
        params: ``customer_table`` parameters.
        training: ``model_training`` parameters.
        tuned_params: Member -> tuned arguments (``None`` or empty: none).

    Returns:
        The fitted ensemble.
    """
    model = customer_ensemble(_settings(params), training, tuned_params or {})
    model.fit(customers, customers["label"])
    alone = single_member(model.weights_)
    if alone is not None:
        logger.warning(
            "The final ensemble is %s alone: the blend gives it all the weight",
            alone,
        )
    return model


def select_current_customers(customers: pd.DataFrame) -> pd.DataFrame:
    """The customers who have not churned: the ones worth scoring.

    Args:
        customers: Output of :func:`prepare_customer_table`.

    Returns:
        Customers whose label is 0.
    """
    return customers[customers["label"] == 0].reset_index(drop=True)
