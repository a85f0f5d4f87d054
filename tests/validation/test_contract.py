from pathlib import Path

import pandas as pd
import pytest

from churn_pipeline.ingestion import SOURCE_TABLES, build_source_schema
from churn_pipeline.ingestion.schemas import SOURCE_DESCRIPTIONS
from churn_pipeline.reporting.generated import embed, markers
from churn_pipeline.validation import RAW_TABLES, build_schema
from churn_pipeline.validation.contract import (
    BLOCK,
    COLUMN_DESCRIPTIONS,
    SOURCE_COLUMN_DESCRIPTIONS,
    TABLE_DESCRIPTIONS,
    render_contract,
)

DOC = Path(__file__).resolve().parents[2] / "docs/data_contract.md"


def test_document_matches_the_schemas(validation_params):
    # Fix: python -m churn_pipeline.validation.contract --write docs/data_contract.md
    document = DOC.read_text()
    contract = render_contract(
        validation_params["allowed_values"], validation_params["usage_columns"]
    )
    assert embed(document, contract, BLOCK) == document


def test_every_column_is_described_and_nothing_else(validation_params):
    accounts = pd.DataFrame(
        {"account_id": pd.Series(dtype=str), "signup_date": pd.Series(dtype="M8[ns]")}
    )
    assert set(TABLE_DESCRIPTIONS) == set(RAW_TABLES) == set(COLUMN_DESCRIPTIONS)
    for table in RAW_TABLES:
        schema = build_schema(
            table,
            allowed_values=validation_params["allowed_values"],
            usage_columns=validation_params["usage_columns"],
            accounts=None if table == "accounts" else accounts,
        )
        assert set(schema.columns) == set(COLUMN_DESCRIPTIONS[table]), table


def test_every_source_column_is_described_and_nothing_else(validation_params):
    assert (
        set(SOURCE_DESCRIPTIONS)
        == set(SOURCE_TABLES)
        == set(SOURCE_COLUMN_DESCRIPTIONS)
    )
    for table in SOURCE_TABLES:
        schema = build_source_schema(
            table, allowed_values=validation_params["allowed_values"]
        )
        assert set(schema.columns) == set(SOURCE_COLUMN_DESCRIPTIONS[table]), table


def test_embed_replaces_only_the_generated_block():
    begin, end = markers(BLOCK)
    document = f"intro\n{begin}\nold\n{end}\noutro\n"
    assert embed(document, "new\n", BLOCK) == f"intro\n{begin}\n\nnew\n\n{end}\noutro\n"


def test_embed_refuses_a_document_without_the_block():
    with pytest.raises(ValueError, match="no generated block 'CONTRACT'"):
        embed("no markers here", "new", BLOCK)
