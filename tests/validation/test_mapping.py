from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from churn_pipeline.pipelines.data_validation import create_pipeline
from churn_pipeline.validation.mapping import apply_mapping

FOREIGN = pd.DataFrame(
    {
        "id": ["A1"],
        "plan_tier": ["Basic"],
        "is_trial": ["False"],
        "note": ["x"],
    }
)


def test_mapping_renames_recodes_drops_and_completes():
    mapped = apply_mapping(
        FOREIGN,
        {
            "columns": {"id": "account_id", "plan_tier": "plan"},
            "values": {"plan": {"Basic": "basic"}, "is_trial": {"False": False}},
            "drop": ["note"],
            "constants": {"discount_pct": 0.0},
        },
    )
    assert mapped.to_dict("records") == [
        {"account_id": "A1", "plan": "basic", "is_trial": False, "discount_pct": 0.0}
    ]
    assert list(FOREIGN.columns) == ["id", "plan_tier", "is_trial", "note"]


def test_unmapped_values_pass_through_for_validation_to_judge():
    mapped = apply_mapping(FOREIGN, {"values": {"plan_tier": {"Pro": "pro"}}})
    assert mapped["plan_tier"].tolist() == ["Basic"]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"rename": {}}, r"Unknown mapping keys \['rename'\]; allowed"),
        ({"columns": {"tier": "plan"}}, r"source columns the table lacks: \['tier'\]"),
        ({"drop": ["nothing"]}, "source columns the table lacks"),
        ({"values": {"plan": {"a": "b"}}}, "Value mapping for absent column 'plan'"),
        ({"constants": {"note": "y"}}, "Constant for 'note'"),
    ],
)
def test_bad_mappings_are_clear_errors(mapping, message):
    with pytest.raises(ValueError, match=message):
        apply_mapping(FOREIGN, mapping)


def test_validation_applies_the_configured_mapping(raw_tables, validation_params):
    foreign = (
        raw_tables["accounts"]
        .rename(columns={"plan": "plan_tier", "acquisition_channel": "source"})
        .drop(columns="discount_pct")
        .assign(plan_tier=lambda d: d["plan_tier"].str.title())
    )
    params = {
        **validation_params,
        "mappings": {
            "accounts": {
                "columns": {"plan_tier": "plan", "source": "acquisition_channel"},
                "values": {
                    "plan": {"Basic": "basic", "Pro": "pro", "Enterprise": "enterprise"}
                },
                "constants": {"discount_pct": 0.0},
            }
        },
    }
    catalog = DataCatalog(
        {
            "raw_accounts": MemoryDataset(foreign),
            "params:data_validation": MemoryDataset(params),
        }
    )
    pipeline = create_pipeline().only_nodes("validate_accounts_node")
    SequentialRunner().run(pipeline, catalog)
    accounts = catalog.load("accounts")
    assert accounts["plan"].tolist() == ["pro", "basic", "enterprise"]
    assert (accounts["discount_pct"] == 0.0).all()
