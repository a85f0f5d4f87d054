"""Preparing a customer table: formats, row-number ids, mapping, duplicates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from kedro_datasets.pandas import CSVDataset, ExcelDataset, ParquetDataset
from tests.pipelines.customer_table.tables import PARAMS

from churn_pipeline.pipelines.customer_table.nodes import prepare_customer_table
from churn_pipeline.validation import REJECTED_RULES_COLUMN, DataValidationError


def _typed(raw: pd.DataFrame) -> pd.DataFrame:
    """The same table with numbers as numbers, as Parquet or Excel keep them."""
    charges = pd.to_numeric(raw["charges"].str.strip().replace("", np.nan))
    return raw.assign(months=raw["months"].astype(int), charges=charges)


def _through_file(raw: pd.DataFrame, kind: str, folder: Path) -> pd.DataFrame:
    """Save and load ``raw`` with the Kedro dataset a catalog entry would name."""
    if kind == "csv":
        dataset: Any = CSVDataset(
            filepath=str(folder / "customers.csv"),
            load_args={"dtype": str, "keep_default_na": False},
            save_args={"index": False},
        )
        dataset.save(raw)
    elif kind == "parquet":
        dataset = ParquetDataset(filepath=str(folder / "customers.parquet"))
        dataset.save(_typed(raw))
    else:
        dataset = ExcelDataset(filepath=str(folder / "customers.xlsx"))
        dataset.save(_typed(raw))
    return dataset.load()


@pytest.mark.parametrize("kind", ["csv", "parquet", "excel"])
def test_every_format_gives_the_same_customers(raw, kind, tmp_path):
    expected, _, _ = prepare_customer_table(raw, PARAMS)
    loaded = _through_file(raw, kind, tmp_path)
    customers, rejected, report = prepare_customer_table(loaded, PARAMS)
    assert rejected.empty
    assert report["rows_accepted"] == len(raw)
    assert customers["months"].dtype == customers["charges"].dtype == float
    assert customers["charges"].isna().sum() == 3
    pd.testing.assert_frame_equal(customers, expected)


def test_numeric_labels_and_ids_read_as_floats_match_their_text(raw):
    # Excel gives 0/1 labels and numeric ids as floats once a cell is empty.
    raw = raw.assign(
        cust=np.arange(len(raw), dtype=float) + 1000,
        left=(raw["left"] == "Y").astype(float),
    )
    params = {**PARAMS, "positive_labels": [1], "negative_labels": [0]}
    customers, _, _ = prepare_customer_table(raw, params)
    assert customers["account_id"].iloc[0] == "1000"
    assert customers["label"].tolist() == raw["left"].tolist()


@pytest.mark.parametrize("absent", ["null", "left out"])
def test_without_an_id_column_rows_are_numbered(raw, absent, caplog):
    params = {k: v for k, v in PARAMS.items() if k != "id_column"}
    if absent == "null":
        params["id_column"] = None
    with caplog.at_level("INFO"):
        customers, _, report = prepare_customer_table(raw.drop(columns="cust"), params)
    assert customers["account_id"].tolist() == [str(i) for i in range(1, 401)]
    assert report["rows_accepted"] == 400
    assert (
        "customer_table.id_column is null: ids are row numbers 1..400 of the input "
        "file" in caplog.text
    )


def test_a_row_number_column_is_not_overwritten(raw):
    table = raw.drop(columns="cust").assign(row_number="7")
    with pytest.raises(ValueError, match=r"customer_table.id_column: row_number"):
        prepare_customer_table(table, {**PARAMS, "id_column": None})


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (
            {"id_column": "customer"},
            r"customer_table.id_column names \['customer'\], which the table lacks"
            r".*The table has \['cust', 'months'.*id_column: null",
        ),
        (
            {"numeric_columns": ["months", "tenure"]},
            r"customer_table.numeric_columns names \['tenure'\]",
        ),
        ({"label_column": "churn"}, r"customer_table.label_column names \['churn'\]"),
        ({"drop_columns": ["memo"]}, r"customer_table.drop_columns names \['memo'\]"),
    ],
)
def test_a_named_column_the_table_lacks_names_the_parameter(raw, overrides, match):
    with pytest.raises(ValueError, match=match):
        prepare_customer_table(raw, {**PARAMS, **overrides})


@pytest.mark.parametrize("missing", [np.nan, ""])
def test_a_missing_label_stops_a_strict_run(raw, missing):
    raw.loc[5, "left"] = missing
    with pytest.raises(DataValidationError, match="column 'left'"):
        prepare_customer_table(raw, PARAMS)


def test_a_label_with_one_class_is_refused(raw):
    with pytest.raises(ValueError, match=r"no accepted row has a positive label"):
        prepare_customer_table(raw.assign(left="N"), PARAMS)


def _with_spellings(raw: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = len(raw)
    return raw.assign(
        device=rng.choice(["Phone", "Mobile Phone", "Computer"], n),
        payment=rng.choice(["CC", "Credit Card", "Debit Card"], n),
    ).rename(columns={"months": "Tenure"})


def test_mapping_recodes_spellings_before_validation(raw):
    params = {
        **PARAMS,
        "categorical_columns": ["contract", "device", "payment"],
        "mapping": {
            "columns": {"Tenure": "months"},
            "values": {
                "device": {"Mobile Phone": "Phone"},
                "payment": {"CC": "Credit Card"},
            },
        },
    }
    table = _with_spellings(raw)
    customers, _, _ = prepare_customer_table(table, params)
    assert set(customers["device"]) == {"Phone", "Computer"}
    assert set(customers["payment"]) == {"Credit Card", "Debit Card"}
    phone = table["device"].isin(["Phone", "Mobile Phone"]).to_numpy()
    assert (customers["device"].to_numpy() == "Phone").tolist() == phone.tolist()
    assert customers["months"].tolist() == table["Tenure"].astype(float).tolist()


def test_mapping_of_an_absent_column_is_named(raw):
    params = {**PARAMS, "mapping": {"columns": {"Tenure": "months"}}}
    match = r"source columns the table lacks: \['Tenure'\]"
    with pytest.raises(ValueError, match=match):
        prepare_customer_table(raw, params)


def _with_copies(raw: pd.DataFrame, n_copies: int = 5) -> pd.DataFrame:
    """``raw`` plus exact copies of its first rows under new ids."""
    copies = raw.head(n_copies).assign(cust=[f"D{i}" for i in range(n_copies)])
    return pd.concat([raw, copies], ignore_index=True)


@pytest.mark.parametrize("mode", ["strict", "quarantine"])
@pytest.mark.parametrize("duplicates", ["keep", "drop", "group"])
def test_exact_duplicates_are_reported_and_handled(raw, mode, duplicates, caplog):
    table = _with_copies(raw)
    params = {**PARAMS, "mode": mode, "duplicates": duplicates}
    with caplog.at_level("WARNING"):
        customers, rejected, report = prepare_customer_table(table, params)
    assert report["duplicates"]["duplicate_rows"] == 5
    assert report["tables"]["customers"]["duplicate_rows"] == 5
    assert report["duplicates"]["examples"][0] == "row 401 = row 1"
    assert "5 row(s) repeat an earlier row exactly" in caplog.text
    assert f"customer_table.duplicates is {duplicates}" in caplog.text
    # Rows in = accepted + rejected, whatever the mode.
    assert report["rows_in"] == len(table) == len(customers) + len(rejected)
    if duplicates == "drop":
        assert len(rejected) == 5
        assert set(rejected[REJECTED_RULES_COLUMN]) == {"duplicate_row"}
        assert rejected["cust"].tolist() == [f"D{i}" for i in range(5)]
        assert report["tables"]["customers"]["rejected_by_rule"] == {"duplicate_row": 5}
    else:
        assert rejected.empty
        assert len(customers) == len(table)
    if duplicates == "keep":
        assert "copies may fall on both sides of a fold" in caplog.text


def test_dropping_duplicates_counts_beside_other_rules(raw):
    table = _with_copies(raw)
    table.loc[10, "left"] = "maybe"
    params = {**PARAMS, "mode": "quarantine", "duplicates": "drop"}
    customers, rejected, report = prepare_customer_table(table, params)
    assert report["rows_rejected"] == len(rejected) == 6
    assert report["rows_accepted"] == len(customers) == len(table) - 6
    assert report["tables"]["customers"]["rejected_by_rule"] == {
        "duplicate_row": 5,
        "left: isin(['Y', 'N'])": 1,
    }


def test_the_id_does_not_make_copies_distinct(raw):
    # Row-number ids are unique by construction: they must not hide copies.
    table = _with_copies(raw).drop(columns="cust")
    _, _, report = prepare_customer_table(table, {**PARAMS, "id_column": None})
    assert report["duplicates"]["duplicate_rows"] == 5
