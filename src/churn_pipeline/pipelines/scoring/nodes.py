"""Score the newest snapshot: who is at risk, why, and whom to contact."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from churn_pipeline.datasets.parquet_table import ParquetTable, TableData, as_pandas
from churn_pipeline.models import ChurnEnsemble, Explanation
from churn_pipeline.scoring.accounts import log_scored_list, score_accounts
from churn_pipeline.scoring.policy import ScoringPolicy, lifetime_from_params
from churn_pipeline.scoring.spark import score_on_spark, spark_session, uses_spark

logger = logging.getLogger(__name__)

AS_OF = "as_of_date"


def score_snapshot(
    model: ChurnEnsemble,
    scoring: TableData,
    explanation: Explanation,
    params: dict[str, Any],
    profit: dict[str, Any],
    labelled: TableData | None = None,
    feature_engineering: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Score every account active at the newest as-of date.

    On the configured engine: with ``feature_engineering.engine.backend``
    ``pyspark`` (``--env spark``) the executors score the rows
    (:mod:`churn_pipeline.scoring.spark`, the same scoring code, SHAP included);
    otherwise the driver scores them with ``explanation``.

    Args:
        model: The fitted ensemble.
        scoring: Snapshots at the newest as-of date (a frame or a Parquet file).
        explanation: SHAP contributions for ``scoring`` (the embedded path's).
        params: ``scoring`` parameters.
        profit: ``profit`` parameters.
        labelled: Labelled snapshots (``label``) whose churn rate gives the
            expected lifetime of the ``per_account`` value basis. The pipeline
            passes ``test_snapshots``, the labels the registered policy is
            built from, so batch and served decisions agree.
        feature_engineering: ``feature_engineering`` parameters (``engine``);
            ``None`` scores on the driver.

    Returns:
        The scored list, riskiest first, with ``as_of_date`` after ``account_id``.
    """
    lifetime = (
        None if labelled is None else lifetime_from_params(params, _labels(labelled))
    )
    policy = ScoringPolicy.from_params(params, profit, lifetime_months=lifetime)
    if feature_engineering is not None and uses_spark(feature_engineering):
        session = spark_session(feature_engineering)
        scores = score_on_spark(session, scoring, model, policy, carry=[AS_OF])
        as_of = scores.pop(AS_OF).to_numpy()
    else:
        scoring = as_pandas(scoring)
        scores = score_accounts(model, scoring, policy, explanation)
        as_of = scoring[AS_OF].to_numpy()
    scores.insert(1, AS_OF, as_of)
    scores = scores.sort_values("churn_probability", ascending=False, ignore_index=True)
    logger.info(
        "Scored %d accounts: %s",
        len(scores),
        scores["risk_band"].value_counts().to_dict(),
    )
    # Which context columns the rows lack is all the log reads of them.
    log_scored_list(scores, pd.DataFrame(columns=list(scoring.columns)), policy)
    return scores


def _labels(labelled: TableData) -> pd.Series:
    """The ``label`` column, reading only that column of a file."""
    if isinstance(labelled, ParquetTable):
        return labelled.to_pandas(["label"])["label"]
    return labelled["label"]


# The list keeps the scored order (who, how risky, what to do, why:
# churn_pipeline.scoring.accounts.score_columns) with the as-of date after the id.
_EXPORT_FIRST = ("account_id", "as_of_date")
_LIST_SEPARATOR = "; "


def export_scored_list(scores: pd.DataFrame) -> pd.DataFrame:
    """The scored list as a customer-success team opens it in a spreadsheet.

    Args:
        scores: The scored list.

    Returns:
        Accounts to contact first, each group by expected profit of acting
        (largest first); reason and trigger lists joined by ``"; "``; money to
        cents (in the ``currency`` column's currency), probabilities to 4
        decimals. Health is already a whole number (rounded once, in scoring).
    """
    export = scores.sort_values(
        ["contact", "expected_contact_profit"],
        ascending=[False, False],
        kind="stable",
        ignore_index=True,
    )
    lists = [
        c for c in ("top_reasons", "risk_lowering_reasons", "triggers") if c in export
    ]
    money = [
        c for c in ("mrr", "expected_contact_profit", "account_clv") if c in export
    ]
    export = export.assign(
        **{c: export[c].map(_LIST_SEPARATOR.join) for c in lists},
        **{c: export[c].round(2) for c in money},
        churn_probability=export["churn_probability"].round(4),
    )
    first = [c for c in _EXPORT_FIRST if c in export]
    return export[first + [c for c in export.columns if c not in first]]
