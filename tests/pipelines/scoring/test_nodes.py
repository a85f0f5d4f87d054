"""Batch scoring of the newest snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.models import synthetic
from tests.scored_list import list_columns

from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.pipelines.scoring.nodes import export_scored_list, score_snapshot
from churn_pipeline.scoring.accounts import score_accounts
from churn_pipeline.scoring.policy import ScoringPolicy
from churn_pipeline.scoring.value import expected_lifetime_months

COLUMNS = list_columns(synthetic.PLAYBOOK_PARAMS["triggers"])


@pytest.fixture(scope="module")
def model() -> ChurnEnsemble:
    return synthetic.fitted_model()


@pytest.fixture
def scoring() -> pd.DataFrame:
    """The newest (unlabelled) snapshot."""
    return synthetic.make_snapshots(
        [pd.Timestamp("2024-06-30")], 250, seed=21, labelled=False
    )


@pytest.fixture
def labelled() -> pd.DataFrame:
    """Labelled snapshots: their churn rate gives the per-account lifetime."""
    return synthetic.make_snapshots(
        [pd.Timestamp("2024-04-30"), pd.Timestamp("2024-05-31")], 300, seed=22
    )


PER_ACCOUNT = {
    **synthetic.SCORING_PARAMS,
    "value": {
        "basis": "per_account",
        "gross_margin": 0.8,
        "max_lifetime_months": 36,
        "horizon_days": 30,
    },
    "currency": "USD",
}


@pytest.fixture
def scores(model: ChurnEnsemble, scoring: pd.DataFrame) -> pd.DataFrame:
    return score_snapshot(
        model,
        scoring,
        model.explain(scoring),
        synthetic.SCORING_PARAMS,
        synthetic.PROFIT_PARAMS,
    )


@pytest.fixture
def per_account_scores(
    model: ChurnEnsemble, scoring: pd.DataFrame, labelled: pd.DataFrame
) -> pd.DataFrame:
    """The list with per-account values (lifetime from the labelled churn rate)."""
    return score_snapshot(
        model,
        scoring,
        model.explain(scoring),
        PER_ACCOUNT,
        synthetic.PROFIT_PARAMS,
        labelled,
    )


def test_columns_and_length(scores: pd.DataFrame, scoring: pd.DataFrame) -> None:
    assert list(scores.columns) == COLUMNS
    assert len(scores) == len(scoring)
    assert sorted(scores["account_id"]) == sorted(scoring["account_id"])
    assert (scores["as_of_date"] == pd.Timestamp("2024-06-30")).all()
    assert scores.index.equals(pd.RangeIndex(len(scores)))


def test_riskiest_first(scores: pd.DataFrame) -> None:
    probability = scores["churn_probability"].to_numpy()

    assert np.all(np.diff(probability) <= 0)


def test_rows_keep_their_own_scores(
    model: ChurnEnsemble, scoring: pd.DataFrame, scores: pd.DataFrame
) -> None:
    policy = ScoringPolicy.from_params(
        synthetic.SCORING_PARAMS, synthetic.PROFIT_PARAMS
    )
    expected = score_accounts(model, scoring, policy).set_index("account_id")

    actual = scores.drop(columns="as_of_date").set_index("account_id")

    pd.testing.assert_frame_equal(actual, expected.loc[actual.index])
    np.testing.assert_array_equal(
        scores["contact"], scores["churn_probability"] >= policy.contact_threshold
    )


def test_fixed_contact_threshold_is_used(
    model: ChurnEnsemble, scoring: pd.DataFrame
) -> None:
    params = {**synthetic.SCORING_PARAMS, "contact_threshold": 0.5}

    scores = score_snapshot(
        model, scoring, model.explain(scoring), params, synthetic.PROFIT_PARAMS
    )

    np.testing.assert_array_equal(scores["contact"], scores["churn_probability"] >= 0.5)


def test_per_account_values_from_the_labelled_churn_rate(
    per_account_scores: pd.DataFrame, scoring: pd.DataFrame, labelled: pd.DataFrame
) -> None:
    scores = per_account_scores
    lifetime = expected_lifetime_months(
        labelled["label"], horizon_days=30, max_months=36
    )
    assert 1.0 < lifetime < 36.0  # the churn rate, not the cap, decides
    mrr = scoring.set_index("account_id")["mrr"].loc[scores["account_id"]]
    np.testing.assert_allclose(
        scores["account_clv"], mrr.to_numpy() * 0.8 * lifetime, rtol=1e-12
    )
    np.testing.assert_array_equal(
        scores["contact"], scores["expected_contact_profit"] > 0
    )
    assert scores["contact"].any()
    assert not scores["contact"].all()
    assert list(scores.columns) == COLUMNS
    assert np.all(np.diff(scores["churn_probability"].to_numpy()) <= 0)


def test_per_account_matches_the_policy_built_from_the_same_labels(
    model: ChurnEnsemble,
    scoring: pd.DataFrame,
    labelled: pd.DataFrame,
    per_account_scores: pd.DataFrame,
) -> None:
    """What the registry stores (same labels) scores like the batch node."""
    lifetime = expected_lifetime_months(
        labelled["label"], horizon_days=30, max_months=36
    )
    policy = ScoringPolicy.from_params(
        PER_ACCOUNT, synthetic.PROFIT_PARAMS, lifetime_months=lifetime
    )
    expected = score_accounts(model, scoring, policy).set_index("account_id")

    actual = per_account_scores.drop(columns="as_of_date").set_index("account_id")

    pd.testing.assert_frame_equal(actual, expected.loc[actual.index])


def test_per_account_without_labels_is_a_clear_error(
    model: ChurnEnsemble, scoring: pd.DataFrame
) -> None:
    with pytest.raises(ValueError, match="'per_account': pass lifetime_months"):
        score_snapshot(
            model, scoring, model.explain(scoring), PER_ACCOUNT, synthetic.PROFIT_PARAMS
        )


def test_fixed_basis_ignores_the_labels(
    model: ChurnEnsemble,
    scoring: pd.DataFrame,
    labelled: pd.DataFrame,
    scores: pd.DataFrame,
) -> None:
    with_labels = score_snapshot(
        model,
        scoring,
        model.explain(scoring),
        synthetic.SCORING_PARAMS,
        synthetic.PROFIT_PARAMS,
        labelled,
    )

    pd.testing.assert_frame_equal(with_labels, scores)
    assert (scores["account_clv"] == synthetic.PROFIT_PARAMS["clv"]).all()


def test_every_account_gets_reasons_an_action_and_its_triggers(
    scores: pd.DataFrame,
) -> None:
    at_risk = scores[scores["risk_band"] != "green"]
    assert len(at_risk) > 0
    assert at_risk["top_reasons"].map(len).gt(0).all()
    assert scores["recommended_action"].map(bool).all()
    assert scores["owner_role"].map(bool).all()
    flags = scores.filter(like="trigger_")
    fired_texts = scores["triggers"].map(len)
    np.testing.assert_array_equal(fired_texts, flags.sum(axis=1))
    assert flags.to_numpy().any()  # the synthetic accounts do break some rules


def test_export_is_a_flat_table_contacts_first(scores: pd.DataFrame) -> None:
    exported = export_scored_list(scores)

    assert len(exported) == len(scores)
    assert set(exported["account_id"]) == set(scores["account_id"])
    contact = exported["contact"].to_numpy()
    assert not (np.diff(contact.astype(int)) > 0).any()  # True rows first
    for decided in (True, False):
        profit = exported.loc[exported["contact"] == decided, "expected_contact_profit"]
        assert profit.is_monotonic_decreasing
    # Lists become text a spreadsheet shows in one cell.
    row = exported.set_index("account_id").loc[scores["account_id"].iloc[0]]
    assert row["top_reasons"] == "; ".join(scores["top_reasons"].iloc[0])
    for column in ("top_reasons", "risk_lowering_reasons", "triggers"):
        assert exported[column].map(type).eq(str).all()


def test_export_round_trips_through_csv(scores: pd.DataFrame, tmp_path) -> None:
    path = tmp_path / "scores.csv"
    export_scored_list(scores).to_csv(path, index=False)

    reread = pd.read_csv(path, keep_default_na=False)

    assert len(reread) == len(scores)
    assert reread.columns[0] == "account_id"


def test_export_reads_who_then_risk_then_decision_then_why(
    per_account_scores: pd.DataFrame, scoring: pd.DataFrame, tmp_path
) -> None:
    path = tmp_path / "scores.csv"
    export_scored_list(per_account_scores).to_csv(path, index=False)

    reread = pd.read_csv(path, keep_default_na=False)

    assert list(reread.columns) == COLUMNS
    assert set(reread["currency"]) == {"USD"}
    for column in ("health_score", "seats", "tenure_months"):
        assert reread[column].dtype == np.int64, column
    row = reread.set_index("account_id").loc[scoring["account_id"].iloc[0]]
    source = scoring.iloc[0]
    assert (row["plan"], row["seats"], row["tenure_months"]) == (
        source["plan"],
        int(source["seats"]),
        int(source["tenure_months"]),
    )
    assert row["mrr"] == pytest.approx(source["mrr"], abs=0.005)


@pytest.mark.parametrize("params", ["fixed", "per_account"])
def test_untargeted_green_accounts_are_monitored_in_the_list(
    model: ChurnEnsemble, scoring: pd.DataFrame, labelled: pd.DataFrame, params: str
) -> None:
    scoring_params = synthetic.SCORING_PARAMS if params == "fixed" else PER_ACCOUNT
    default = synthetic.PLAYBOOK_PARAMS["default_action"]

    scores = score_snapshot(
        model,
        scoring,
        model.explain(scoring),
        scoring_params,
        synthetic.PROFIT_PARAMS,
        labelled,
    )

    green = scores[~scores["contact"] & (scores["risk_band"] == "green")]
    assert len(green) > 0
    assert (green["recommended_action"] == default["action"]).all()
    assert (green["owner_role"] == default["owner"]).all()
    contacted = scores[scores["contact"]]
    assert (contacted["recommended_action"] != default["action"]).any()
