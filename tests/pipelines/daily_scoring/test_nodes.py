"""Daily scoring: features as of one day, scored by the champion, and the history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from tests.models import synthetic
from tests.pipelines.feature_engineering.params import feature_params
from tests.scored_list import WHO_AND_RISK

from churn_pipeline.features import feature_names
from churn_pipeline.features.build import TABLES
from churn_pipeline.model_registry.mlflow_store import ServedModel
from churn_pipeline.pipelines.daily_scoring.nodes import (
    build_current_features,
    record_score_history,
    score_current,
)
from churn_pipeline.pipelines.feature_engineering import create_pipeline
from churn_pipeline.pipelines.scoring.nodes import export_scored_list
from churn_pipeline.scoring.accounts import score_accounts
from churn_pipeline.scoring.policy import ScoringPolicy

PARAMS = feature_params("2024-03-10")


def _current(raw_tables: dict[str, pd.DataFrame], as_of: str | None) -> pd.DataFrame:
    frames = [raw_tables[name] for name in TABLES]
    return build_current_features(*frames, {"as_of": as_of}, PARAMS)


def _training_table(raw_tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    catalog = DataCatalog(
        {name: MemoryDataset(frame) for name, frame in raw_tables.items()}
        | {"params:feature_engineering": MemoryDataset(PARAMS)}
    )
    SequentialRunner().run(create_pipeline(), catalog)
    # The feature nodes hand on Ibis expressions; the file catalog writes them.
    return catalog.load("model_input_table").to_pyarrow().to_pandas()


def test_features_equal_the_training_features_of_that_day(raw_tables) -> None:
    current = _current(raw_tables, "2024-03-10")
    training = _training_table(raw_tables)
    same_day = training[training["as_of_date"] == pd.Timestamp("2024-03-10")]
    assert list(current.columns) == ["account_id", "as_of_date", *feature_names()]
    pd.testing.assert_frame_equal(
        current.reset_index(drop=True),
        same_day[current.columns].reset_index(drop=True),
        check_dtype=False,
    )


def test_default_date_is_the_newest_data(raw_tables) -> None:
    current = _current(raw_tables, None)
    newest = max(
        raw_tables["usage"]["usage_date"].max(),
        raw_tables["invoices"]["invoice_date"].max(),
        raw_tables["subscription_events"]["event_date"].max(),
    ).normalize()
    assert set(current["as_of_date"]) == {newest}
    # Only accounts active that day: A2 cancelled on it.
    assert "A2" not in set(current["account_id"])


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("2099-01-01", r"after the newest data"),
        ("not-a-date", r"scoring\.as_of must be a date YYYY-MM-DD"),
    ],
)
def test_impossible_dates_are_refused(raw_tables, as_of: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _current(raw_tables, as_of)


@pytest.fixture(scope="module")
def champion() -> ServedModel:
    policy = ScoringPolicy.from_params(
        synthetic.SCORING_PARAMS, synthetic.PROFIT_PARAMS
    )
    return ServedModel(
        model=synthetic.fitted_model(),
        policy=policy,
        uri="models:/churn-model@champion",
        name="churn-model",
        version="7",
        alias="champion",
        metrics={},
    )


def test_scores_with_the_champion_and_its_registered_policy(champion) -> None:
    features = synthetic.holdout_table().head(60).reset_index(drop=True)
    scores = score_current(champion, features, {"promoted": False})
    expected = score_accounts(champion.model, features, champion.policy)
    merged = scores.merge(expected, on="account_id", suffixes=("", "_expected"))
    assert len(merged) == 60
    np.testing.assert_array_equal(
        merged["churn_probability"], merged["churn_probability_expected"]
    )
    assert scores["churn_probability"].is_monotonic_decreasing
    assert set(scores["model_version"]) == {"7"}
    assert set(scores["model_name"]) == {"churn-model"}
    assert scores.columns[1] == "as_of_date"
    assert scores["scored_at"].dt.tz is not None


def test_history_partition_is_new_for_every_run(champion) -> None:
    features = synthetic.holdout_table().head(10).reset_index(drop=True)
    first = record_score_history(score_current(champion, features))
    second = record_score_history(score_current(champion, features))
    assert first.keys() != second.keys()
    ((name, rows),) = first.items()
    as_of = pd.Timestamp(features["as_of_date"].max()).strftime("%Y-%m-%d")
    assert name.startswith(f"as_of={as_of}/scored_at=")
    assert list(rows.columns) == [
        "account_id",
        "as_of_date",
        "model_name",
        "model_version",
        "churn_probability",
        "risk_band",
        "recommended_action",
        "contact",
        "scored_at",
    ]
    assert len(rows) == 10


def test_the_daily_list_carries_context_money_and_whole_health(raw_tables) -> None:
    features = _current(raw_tables, "2024-03-10")
    policy = ScoringPolicy.from_params(
        {**synthetic.SCORING_PARAMS, "currency": "EUR"}, synthetic.PROFIT_PARAMS
    )
    champion = ServedModel(
        model=synthetic.fitted_model(),
        policy=policy,
        uri="models:/churn-model@champion",
        name="churn-model",
        version="3",
        alias="champion",
        metrics={},
    )

    scores = score_current(champion, features)
    exported = export_scored_list(scores)

    assert tuple(exported.columns[: len(WHO_AND_RISK)]) == WHO_AND_RISK
    assert set(exported["currency"]) == {"EUR"}
    assert exported["health_score"].dtype == np.int64
    by_id = features.set_index("account_id")
    listed = exported.set_index("account_id")
    assert listed["plan"].to_dict() == by_id["plan"].loc[listed.index].to_dict()
    np.testing.assert_array_equal(
        listed["tenure_months"].astype(int), by_id["tenure_months"].loc[listed.index]
    )
