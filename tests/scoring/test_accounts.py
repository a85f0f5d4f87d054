"""Scoring accounts: the shared scoring function, its contact decision, reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.models import synthetic
from tests.scoring.policies import OLD_POLICY_DICT, make_per_account, make_policy

from churn_pipeline.evaluation.economics import RetentionEconomics
from churn_pipeline.models import ChurnEnsemble, Explanation
from churn_pipeline.scoring.accounts import score_accounts, score_columns
from churn_pipeline.scoring.playbook import Playbook, recommend
from churn_pipeline.scoring.policy import (
    ScoringPolicy,
    expected_contact_profit,
    risk_band,
)
from churn_pipeline.scoring.reasons import ranked_reasons

# Who, how risky, what to do, why (a policy without a playbook).
SCORE_COLUMNS = [
    "account_id",
    "plan",
    "mrr",
    "seats",
    "tenure_months",
    "currency",
    "churn_probability",
    "health_score",
    "risk_band",
    "contact",
    "expected_contact_profit",
    "account_clv",
    "top_reasons",
    "risk_lowering_reasons",
]


class _FixedModel:
    """Stands in for the ensemble: given probabilities, whatever the features."""

    def __init__(self, probability: list[float]) -> None:
        self.probability = np.asarray(probability, dtype=float)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        assert len(features) == len(self.probability)
        return np.column_stack([1 - self.probability, self.probability])


def _score_fixed(
    probability: list[float], mrr: list[float], policy: ScoringPolicy
) -> pd.DataFrame:
    features = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in range(len(mrr))],
            "mrr": mrr,
            "logins_30d": 1.0,
        }
    )
    explanation = Explanation(
        base_value=0.0,
        contributions=pd.DataFrame({"mrr": 0.0, "logins_30d": [0.0] * len(mrr)}),
        calibration_slope=1.0,
    )
    return score_accounts(
        _FixedModel(probability),  # type: ignore[arg-type]
        features,
        policy,
        explanation,
    )


@pytest.fixture(scope="module")
def model() -> ChurnEnsemble:
    return synthetic.fitted_model()


@pytest.fixture
def accounts() -> pd.DataFrame:
    """300 later accounts, with a non-default index."""
    table = synthetic.holdout_table().iloc[1000:1300]
    return table.set_index(pd.Index(range(5000, 5300)))


# ---------------------------------------------------------------------- scores
def test_score_accounts_columns_and_order(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    policy = make_policy()

    scores = score_accounts(model, accounts, policy)

    assert list(scores.columns) == SCORE_COLUMNS
    assert scores["account_id"].tolist() == accounts["account_id"].tolist()
    probability = model.predict_proba(accounts)[:, 1]
    np.testing.assert_array_equal(scores["churn_probability"], probability)
    assert scores["risk_band"].tolist() == risk_band(probability, policy).tolist()
    assert scores["contact"].dtype == bool
    np.testing.assert_array_equal(
        scores["contact"], probability >= policy.contact_threshold
    )
    np.testing.assert_allclose(
        scores["expected_contact_profit"],
        expected_contact_profit(
            probability,
            RetentionEconomics(
                clv=policy.clv,
                incentive_cost=policy.incentive_cost,
                contact_cost=policy.contact_cost,
                accept_rate=policy.accept_rate,
            ),
        ),
    )
    assert (scores["account_clv"] == policy.clv).all()
    # Both decisions occur, so the comparison above is not trivial.
    assert scores["contact"].any()
    assert not scores["contact"].all()


def test_an_old_stored_policy_scores_as_before(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    scores = score_accounts(model, accounts, ScoringPolicy(**OLD_POLICY_DICT))

    probability = model.predict_proba(accounts)[:, 1]
    np.testing.assert_array_equal(scores["contact"], probability >= 11 / 67)
    np.testing.assert_allclose(
        scores["expected_contact_profit"],
        expected_contact_profit(probability, clv=200.0),
    )


def test_score_accounts_per_account(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    policy = make_per_account(gross_margin=0.5, lifetime_months=6.0)

    scores = score_accounts(model, accounts, policy)

    assert list(scores.columns) == SCORE_COLUMNS
    assert scores["account_id"].tolist() == accounts["account_id"].tolist()
    clv = accounts["mrr"].to_numpy() * 0.5 * 6.0
    np.testing.assert_allclose(scores["account_clv"], clv, rtol=1e-15)
    probability = model.predict_proba(accounts)[:, 1]
    np.testing.assert_allclose(
        scores["expected_contact_profit"],
        expected_contact_profit(
            probability,
            RetentionEconomics(incentive_cost=10.0, contact_cost=1.0, accept_rate=0.3),
            clv=clv,
        ),
        rtol=1e-12,
    )
    assert scores["contact"].dtype == bool
    np.testing.assert_array_equal(
        scores["contact"], scores["expected_contact_profit"] > 0
    )
    # Targeting by value differs from targeting by rank in both directions.
    by_rank = probability >= policy.contact_threshold
    assert (scores["contact"] & ~by_rank).any()
    assert (~scores["contact"] & by_rank).any()


@pytest.mark.parametrize("mrr", [[100.0, 200.0], [20.0, 21.0], [1.0, 5000.0]])
@pytest.mark.parametrize("probability", [0.05, 0.3, 0.9])
def test_higher_mrr_gives_higher_expected_profit(
    mrr: list[float], probability: float
) -> None:
    scores = _score_fixed([probability] * 2, mrr, make_per_account())

    assert scores["account_clv"].iloc[1] > scores["account_clv"].iloc[0]
    profit = scores["expected_contact_profit"]
    assert profit.iloc[1] > profit.iloc[0]


@pytest.mark.parametrize(
    ("probability", "mrr", "profit", "contact"),
    [
        # CLV = 100 x 0.5 x 10 = 500: 0.5 x 0.3 x 490 - 0.5 x 10 - 1.
        (0.5, 100.0, 67.5, True),
        # CLV 5 is below the incentive: 0.5 x 0.3 x (5 - 10) - 5 - 1.
        (0.5, 1.0, -6.75, False),
        # CLV 0 (no MRR): 0.2 x 0.3 x -10 - 0.8 x 10 - 1.
        (0.2, 0.0, -9.6, False),
        # CLV 50: 0.2 x 0.3 x 40 - 8 - 1 = -6.6, although p is above 11/67.
        (0.2, 10.0, -6.6, False),
        # CLV 5,000: 0.1 x 0.3 x 4,990 - 9 - 1 = 139.7, although p is below 11/67.
        (0.1, 1000.0, 139.7, True),
    ],
)
def test_per_account_profit_hand_computed(
    probability: float, mrr: float, profit: float, contact: bool
) -> None:
    policy = make_per_account(gross_margin=0.5, lifetime_months=10.0)

    scores = _score_fixed([probability], [mrr], policy)

    assert scores["expected_contact_profit"].iloc[0] == pytest.approx(profit)
    assert scores["contact"].iloc[0] == contact


def test_per_account_needs_the_mrr_column(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    policy = make_per_account()
    explanation = model.explain(accounts)

    with pytest.raises(ValueError, match="from the 'mrr' column"):
        score_accounts(model, accounts.drop(columns="mrr"), policy, explanation)


def test_per_account_names_accounts_with_a_bad_mrr() -> None:
    with pytest.raises(
        ValueError, match="mrr must be finite and >= 0; 1 of 3"
    ) as error:
        _score_fixed([0.1, 0.2, 0.3], [10.0, np.nan, 30.0], make_per_account())

    assert "A1: nan" in str(error.value)


def test_contact_threshold_is_inclusive(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    probability = model.predict_proba(accounts)[:, 1]
    threshold = float(np.sort(probability)[len(probability) // 2])

    scores = score_accounts(model, accounts, make_policy(contact_threshold=threshold))

    at_threshold = scores["churn_probability"] == threshold
    assert at_threshold.any()
    assert scores.loc[at_threshold, "contact"].all()
    np.testing.assert_array_equal(scores["contact"], probability >= threshold)


def test_score_accounts_reasons_follow_the_explanation(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    policy = make_policy(n_reasons=2)
    explanation = model.explain(accounts)

    scores = score_accounts(model, accounts, policy, explanation)
    recomputed = score_accounts(model, accounts, policy)

    pd.testing.assert_frame_equal(scores, recomputed)
    expected = ranked_reasons(
        explanation.contributions.reset_index(drop=True),
        accounts.reset_index(drop=True),
        2,
        typical=model.typical_values_,
    )
    assert scores["top_reasons"].tolist() == expected
    assert all(len(r) <= 2 for r in expected)
    lowering = ranked_reasons(
        explanation.contributions.reset_index(drop=True),
        accounts.reset_index(drop=True),
        2,
        direction="lowering",
        typical=model.typical_values_,
    )
    assert scores["risk_lowering_reasons"].tolist() == lowering


def test_score_accounts_does_not_depend_on_the_index(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    policy = make_policy()

    scores = score_accounts(model, accounts, policy)
    reindexed = score_accounts(model, accounts.reset_index(drop=True), policy)

    pd.testing.assert_frame_equal(scores, reindexed)


# ------------------------------------------------- context, health, actions
def _with_playbook(**overrides: object) -> ScoringPolicy:
    return make_policy(
        playbook=Playbook.from_params(synthetic.PLAYBOOK_PARAMS), **overrides
    )


@pytest.mark.parametrize(
    "policy", [make_policy(), _with_playbook()], ids=["plain", "playbook"]
)
def test_scoring_in_batches_gives_the_same_list(
    model: ChurnEnsemble, accounts: pd.DataFrame, policy: ScoringPolicy
) -> None:
    whole = score_accounts(model, accounts, policy)
    batched = score_accounts(model, accounts, policy, batch_rows=70)
    explanation = model.explain(accounts)
    given = score_accounts(model, accounts, policy, explanation, batch_rows=70)

    pd.testing.assert_frame_equal(batched, whole)
    pd.testing.assert_frame_equal(given, whole)


def test_a_batch_of_no_accounts_is_refused(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    with pytest.raises(ValueError, match="batch_rows must be >= 1, got 0"):
        score_accounts(model, accounts, make_policy(), batch_rows=0)


def test_the_list_carries_the_accounts_context_and_currency(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    scores = score_accounts(model, accounts, make_policy(currency="EUR"))

    assert (scores["currency"] == "EUR").all()
    assert scores["plan"].tolist() == accounts["plan"].tolist()
    np.testing.assert_array_equal(scores["mrr"], accounts["mrr"])
    for field in ("seats", "tenure_months"):
        assert scores[field].tolist() == accounts[field].astype(int).tolist()


def test_api_columns_and_frame_give_the_same_context(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    policy = _with_playbook(currency="USD")
    frame = accounts.reset_index(drop=True)
    columns = {name: frame[name].to_numpy() for name in frame}

    from_frame = score_columns(model, frame, policy)
    from_arrays = score_columns(model, columns, policy)

    assert list(from_frame) == list(from_arrays)
    for name in ("plan", "mrr", "seats", "tenure_months", "currency", "health_score"):
        assert from_frame[name].tolist() == from_arrays[name].tolist()


def test_health_is_a_whole_number_inside_its_band(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    scores = score_accounts(model, accounts, make_policy())

    assert scores["health_score"].dtype == np.int64
    ranges = {"green": (71, 100), "yellow": (41, 70), "red": (0, 40)}
    for band, (low, high) in ranges.items():
        health = scores.loc[scores["risk_band"] == band, "health_score"]
        assert len(health) > 0, band
        assert health.between(low, high).all(), band


@pytest.mark.parametrize("basis", ["fixed", "per_account"])
def test_untargeted_green_and_yellow_accounts_are_monitored(
    model: ChurnEnsemble, accounts: pd.DataFrame, basis: str
) -> None:
    policy = _with_playbook(
        clv_basis=basis, lifetime_months=None if basis == "fixed" else 12.0
    )
    default = policy.playbook.default_action  # type: ignore[union-attr]

    scores = score_accounts(model, accounts, policy)

    driver_action = recommend(
        policy.playbook,  # type: ignore[arg-type]
        model.explain(accounts).contributions.reset_index(drop=True),
        policy.context_drivers,
    )["recommended_action"]
    idle = ~scores["contact"] & scores["risk_band"].isin(["green", "yellow"])
    acted = ~idle.to_numpy()
    assert idle.any() and acted.any()
    assert (scores.loc[idle, "recommended_action"] == default.action).all()
    assert (scores.loc[idle, "owner_role"] == default.owner).all()
    assert scores["recommended_action"][acted].tolist() == driver_action[acted].tolist()
    # Some of the accounts acted on have a real driver action, not the default.
    assert (scores["recommended_action"][acted] != default.action).any()


def test_per_account_reads_mrr_from_the_mapped_column(
    model: ChurnEnsemble, accounts: pd.DataFrame
) -> None:
    # A customer table's revenue column, next to the model's own features.
    charges = accounts["mrr"].to_numpy() * 2.0
    table = accounts.assign(MonthlyCharges=charges)
    policy = make_per_account(account_context={"mrr": "MonthlyCharges"})

    scores = score_accounts(model, table, policy)

    np.testing.assert_allclose(scores["account_clv"], charges * 0.8 * 24.0)
    np.testing.assert_array_equal(scores["mrr"], charges)


@pytest.mark.parametrize(
    ("probability", "mrr", "profit"),
    [
        # CLV 100 x 0.5 x 10 = 500 = 2.5 x the typical 200: incentive 25.
        # 0.5 x 0.3 x (500 - 25) - 0.5 x 25 - 1
        (0.5, 100.0, 57.75),
        # CLV 40 = 0.2 x typical: incentive 2. 0.2 x 0.3 x 38 - 0.8 x 2 - 1
        (0.2, 8.0, -0.32),
        # CLV 0: no incentive either, only the contact cost.
        (0.2, 0.0, -1.0),
    ],
)
def test_proportional_incentive_hand_computed(
    probability: float, mrr: float, profit: float
) -> None:
    policy = make_per_account(
        gross_margin=0.5, lifetime_months=10.0, incentive_basis="proportional"
    )

    scores = _score_fixed([probability], [mrr], policy)

    assert scores["expected_contact_profit"].iloc[0] == pytest.approx(profit)
    assert scores["contact"].iloc[0] == (profit > 0)
