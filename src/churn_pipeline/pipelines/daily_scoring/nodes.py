"""Features as of the newest data, scored by the registered champion.

The training run scores its newest monthly snapshot with the model it just
trained; this pipeline is what a scheduler runs every day: it rebuilds every
active account's features as of one day with the same feature code, scores
them with whichever version holds the champion alias, and leaves the features
in the online store the service reads by account id.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from churn_pipeline.datasets.parquet_table import TableData
from churn_pipeline.features import engine, feature_names
from churn_pipeline.features.build import TABLES, model_input, timeline
from churn_pipeline.features.pit import KEYS
from churn_pipeline.model_registry.mlflow_store import ServedModel
from churn_pipeline.scoring.accounts import log_scored_list, score_accounts

logger = logging.getLogger(__name__)

# What the score history keeps of each scored account, after the model's name.
_HISTORY_COLUMNS = (
    "account_id",
    "as_of_date",
    "model_name",
    "model_version",
    "churn_probability",
    "risk_band",
    "recommended_action",
    "contact",
    "scored_at",
)


def scoring_date(
    con: Any, tables: dict[str, Any], as_of: str | None
) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    """The as-of date to score and the first usage day.

    Args:
        con: The feature engine's connection.
        tables: The validated tables as Ibis tables, by name.
        as_of: ``YYYY-MM-DD`` from ``scoring.as_of``, or ``None`` for the
            newest usage, subscription event or invoice date.

    Returns:
        The as-of date and the first usage day (``None`` without usage).

    Raises:
        ValueError: If ``as_of`` is not a date, or lies after the newest data
            (its features would silently read as inactivity).
    """
    placed = timeline(
        con, tables, observation_end=None, min_history_days=0, max_snapshots=1
    )
    if as_of is None:
        return placed.observation_end, placed.usage_start
    try:
        date = pd.Timestamp(str(as_of)).normalize()
    except ValueError:
        raise ValueError(
            f"parameters_scoring.yml: scoring.as_of must be a date YYYY-MM-DD or "
            f"null, got {as_of!r}"
        ) from None
    if date > placed.observation_end:
        raise ValueError(
            f"scoring.as_of {date.date()} is after the newest data "
            f"({placed.observation_end.date()}); features would read as inactivity. "
            "Use a date up to the newest data, or null for the newest."
        )
    return date, placed.usage_start


def build_current_features(
    accounts: pd.DataFrame,
    subscription_events: pd.DataFrame,
    usage: TableData,
    tickets: TableData,
    invoices: TableData,
    nps_responses: TableData,
    scoring: dict[str, Any],
    feature_engineering: dict[str, Any],
) -> pd.DataFrame:
    """Point-in-time features of every account active at the scoring date.

    The same expressions as the training features (:mod:`churn_pipeline.features`),
    for one as-of date: ``scoring.as_of``, or the newest date in the data.

    Args:
        accounts: Validated accounts.
        subscription_events: Validated plan changes and cancellations.
        usage: Validated daily usage.
        tickets: Validated support tickets.
        invoices: Validated invoices.
        nps_responses: Validated NPS responses.
        scoring: ``scoring`` parameters (``as_of``).
        feature_engineering: ``feature_engineering`` parameters.

    Returns:
        One row per active account: ``account_id``, ``as_of_date`` and every
        registry feature, with those of the configured usage columns.
    """
    frames = dict(
        zip(
            TABLES,
            (accounts, subscription_events, usage, tickets, invoices, nps_responses),
            strict=True,
        )
    )
    con = engine.connect_configured(feature_engineering)
    tables = {name: engine.table(frame, con) for name, frame in frames.items()}
    as_of, usage_start = scoring_date(con, tables, scoring.get("as_of"))
    expression = model_input(
        tables,
        [as_of],
        horizon_days=int(feature_engineering["horizon_days"]),
        observation_end=as_of,
        key_columns=list(feature_engineering["key_feature_columns"]),
        usage_start=usage_start,
    )
    features = engine.execute(con, expression, KEYS)
    names = feature_names(usage.columns)
    features = features[[*KEYS, *names]]
    logger.info(
        "Features as of %s: %d active accounts x %d features",
        as_of.date(),
        len(features),
        len(names),
    )
    return features


def score_current(
    champion: ServedModel,
    features: pd.DataFrame,
    champion_decision: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Score the accounts with the champion and the policy registered with it.

    Args:
        champion: The model holding the champion alias, as the service loads it.
        features: ``build_current_features`` output.
        champion_decision: The training run's decision, logged next to the
            version actually loaded (a later promotion may have moved it).

    Returns:
        The scored list, riskiest first: ``account_id``, ``as_of_date``, the
        scores of :func:`~churn_pipeline.scoring.accounts.score_accounts`, then
        ``model_name``, ``model_version`` and ``scored_at`` (UTC).
    """
    log_training_decision(champion_decision)
    scores = score_accounts(
        champion.model, features, champion.policy, explainer=champion.explainer
    )
    scores = stamp_scores(scores, features["as_of_date"].to_numpy(), champion)
    log_scored_list(scores, features, champion.policy)
    return scores


def log_training_decision(champion_decision: dict[str, Any] | None) -> None:
    """Log the training run's decision next to the version actually loaded."""
    if champion_decision and champion_decision.get("promoted") is not None:
        logger.info(
            "Last training decision: %s v%s %s",
            champion_decision.get("model_name"),
            champion_decision.get("version"),
            "promoted" if champion_decision["promoted"] else "not promoted",
        )


def stamp_scores(
    scores: pd.DataFrame, as_of: Any, champion: ServedModel, *, where: str = ""
) -> pd.DataFrame:
    """The scored list as the daily job writes it, riskiest first, and logged.

    Args:
        scores: ``score_accounts`` output, one row per account.
        as_of: Each row's as-of date (inserted after ``account_id``).
        champion: The model that scored.
        where: Where the scoring ran, for the log (e.g. " on Spark").

    Returns:
        ``scores`` with ``as_of_date``, ``model_name``, ``model_version`` and
        ``scored_at`` (UTC).
    """
    scores.insert(1, "as_of_date", as_of)
    scores = scores.assign(
        model_name=champion.name,
        model_version=champion.version,
        scored_at=pd.Timestamp(datetime.now(UTC)),
    ).sort_values("churn_probability", ascending=False, ignore_index=True)
    logger.info(
        "Scored %d accounts as of %s with %s v%s%s: %s",
        len(scores),
        pd.Timestamp(scores["as_of_date"].max()).date() if len(scores) else "-",
        champion.name,
        champion.version,
        where,
        scores["risk_band"].value_counts().to_dict(),
    )
    return scores


def record_score_history(scores: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """This run's rows of the append-only score history.

    Args:
        scores: ``score_current`` output.

    Returns:
        One new partition, named by as-of date and scoring time so a rerun of
        the same day adds rows instead of replacing the earlier ones.
    """
    columns = [c for c in _HISTORY_COLUMNS if c in scores]
    history = scores[columns].copy()
    as_of = pd.Timestamp(scores["as_of_date"].max()) if len(scores) else None
    scored_at = pd.Timestamp(scores["scored_at"].iloc[0]) if len(scores) else None
    day = as_of.strftime("%Y-%m-%d") if as_of is not None else "empty"
    stamp = (
        scored_at.strftime("%Y%m%dT%H%M%S%fZ")
        if scored_at is not None
        else datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    )
    return {f"as_of={day}/scored_at={stamp}": history}
