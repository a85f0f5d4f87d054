"""The list's account context, whole-number health and warranted actions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.scoring.policies import make_policy

from churn_pipeline.scoring.context import (
    CONTEXT_FIELDS,
    DEFAULT_ACCOUNT_CONTEXT,
    account_context,
    context_mapping,
    missing_context,
    warranted_actions,
    whole_health,
)
from churn_pipeline.scoring.playbook import Action, health_score
from churn_pipeline.scoring.policy import risk_band

MONITOR = Action("monitor: no action needed now", "customer success manager")


# ------------------------------------------------------------------- mapping
def test_mapping_defaults_to_the_contract_names_without_an_owner() -> None:
    assert context_mapping(None) == DEFAULT_ACCOUNT_CONTEXT
    assert list(context_mapping({})) == list(CONTEXT_FIELDS)
    assert context_mapping(None)["account_owner"] is None


def test_mapping_overrides_only_the_fields_it_names() -> None:
    mapping = context_mapping({"mrr": "MonthlyCharges", "seats": None})

    assert mapping["mrr"] == "MonthlyCharges"
    assert mapping["seats"] is None
    assert mapping["plan"] == "plan"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"owner": "csm"}, r"unknown fields \['owner'\]"),
        ({"plan": "", "mrr": "mrr"}, r"empty for \['plan'\]"),
        ({"seats": "  "}, r"empty for \['seats'\]"),
    ],
)
def test_mapping_rejects_unknown_fields_and_empty_names(
    mapping: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        context_mapping(mapping)


# ------------------------------------------------------------------- context
@pytest.fixture
def telco() -> pd.DataFrame:
    """Two customers of a customer table, with its own column names."""
    return pd.DataFrame(
        {
            "account_id": ["C1", "C2"],
            "Contract": ["Month-to-month", None],
            "MonthlyCharges": [70.35, 19.9],
            "tenure": [11.0, np.nan],
            "csm": ["ana", "bo"],
        }
    )


def test_context_renames_a_customer_tables_columns(telco: pd.DataFrame) -> None:
    mapping = context_mapping(
        {
            "account_owner": "csm",
            "plan": "Contract",
            "mrr": "MonthlyCharges",
            "seats": None,
            "tenure_months": "tenure",
        }
    )

    context = account_context(telco, mapping)

    assert list(context) == ["account_owner", "plan", "mrr", "tenure_months"]
    assert context["account_owner"].tolist() == ["ana", "bo"]
    assert context["plan"].tolist() == ["Month-to-month", None]
    np.testing.assert_array_equal(context["mrr"], [70.35, 19.9])
    # Whole months as Python ints; unknown stays None (the API's null).
    assert context["tenure_months"].tolist() == [11, None]
    assert type(context["tenure_months"][0]) is int


def test_context_leaves_out_columns_the_data_lacks(telco: pd.DataFrame) -> None:
    mapping = context_mapping(None)  # plan, mrr, seats, tenure_months: absent

    assert account_context(telco, mapping) == {}
    assert missing_context(telco, mapping) == [
        "plan <- plan",
        "mrr <- mrr",
        "seats <- seats",
        "tenure_months <- tenure_months",
    ]


def test_context_reads_the_apis_column_arrays_like_a_frame() -> None:
    frame = pd.DataFrame(
        {"plan": ["pro", "basic"], "mrr": [450.0, 30.0], "seats": [10.0, 1.9]}
    )
    columns = {name: frame[name].to_numpy() for name in frame}
    mapping = context_mapping(None)

    from_frame = account_context(frame, mapping)
    from_arrays = account_context(columns, mapping)

    assert from_frame.keys() == from_arrays.keys() == {"plan", "mrr", "seats"}
    for field in from_frame:
        assert from_frame[field].tolist() == from_arrays[field].tolist()
    assert from_frame["seats"].tolist() == [10, 1]  # whole seats, rounded down


# -------------------------------------------------------------------- health
def test_whole_health_agrees_with_the_band_everywhere() -> None:
    policy = make_policy()
    # A fine grid plus the cut-offs and their floating-point neighbours.
    edges = [policy.yellow_from, policy.red_from]
    probability = np.unique(
        np.concatenate(
            [
                np.linspace(0.0, 1.0, 20_001),
                edges,
                np.nextafter(edges, 0.0),
                np.nextafter(edges, 1.0),
            ]
        )
    )
    band = risk_band(probability, policy)
    health = health_score(
        probability, yellow_from=policy.yellow_from, red_from=policy.red_from
    )

    whole = whole_health(health, band)

    assert whole.dtype == np.int64
    assert whole[band == "green"].min() == 71
    assert whole[band == "green"].max() == 100
    assert whole[band == "yellow"].min() == 41
    assert whole[band == "yellow"].max() == 70
    assert whole[band == "red"].min() == 0
    assert whole[band == "red"].max() == 40
    # Rounded up, never more than one point away from the exact score.
    assert np.all((whole >= health - 1e-9) & (whole - health < 1.0 + 1e-9))


# ------------------------------------------------------------------- actions
@pytest.mark.parametrize(
    ("contact", "band", "act_bands", "monitored"),
    [
        (False, "green", ["red"], True),
        (False, "yellow", ["red"], True),
        (False, "red", ["red"], False),
        (True, "green", ["red"], False),
        (True, "yellow", ["red"], False),
        (True, "red", ["red"], False),
        (False, "yellow", ["yellow", "red"], False),
        (False, "red", [], True),
    ],
)
def test_driver_action_only_where_warranted(
    contact: bool, band: str, act_bands: list[str], monitored: bool
) -> None:
    actions = {
        "dominant_driver": np.array(["logins"], dtype=object),
        "likely_churn_type": np.array(["voluntary"], dtype=object),
        "recommended_action": np.array(["re-engagement: call"], dtype=object),
        "owner_role": np.array(["customer success manager"], dtype=object),
    }

    out = warranted_actions(
        actions,
        contact=np.array([contact]),
        band=np.array([band], dtype=object),
        default=MONITOR,
        act_bands=act_bands,
    )

    expected = MONITOR.action if monitored else "re-engagement: call"
    assert out["recommended_action"].tolist() == [expected]
    assert out["owner_role"].tolist() == ["customer success manager"]
    # The driver stays either way: the list still says what to watch.
    assert out["dominant_driver"].tolist() == ["logins"]
    assert actions["recommended_action"].tolist() == ["re-engagement: call"]
