"""ParquetTableDataset: tables handed on by reference, saved atomically."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from kedro.io import DatasetError

from churn_pipeline.datasets import ParquetTable, ParquetTableDataset
from churn_pipeline.datasets.parquet_table import as_pandas
from churn_pipeline.features import engine

FRAME = pd.DataFrame({"account_id": ["A1", "A2", "A3"], "logins": [3, 0, 7]})


@pytest.fixture
def dataset(tmp_path) -> ParquetTableDataset:
    return ParquetTableDataset(filepath=str(tmp_path / "t" / "usage.parquet"))


def test_a_saved_frame_loads_as_a_reference(dataset):
    dataset.save(FRAME)
    table = dataset.load()
    assert isinstance(table, ParquetTable)
    assert table.columns == ["account_id", "logins"]
    assert table.num_rows == 3
    pd.testing.assert_frame_equal(table.to_pandas(), FRAME)
    pd.testing.assert_frame_equal(as_pandas(table), FRAME)


def test_an_ibis_expression_is_written_by_its_engine(dataset):
    con = ibis.duckdb.connect()
    expr = engine.table(FRAME, con).filter(ibis._.logins > 0)
    dataset.save(expr)
    assert dataset.load().to_pandas()["account_id"].tolist() == ["A1", "A3"]


def test_a_reference_is_copied(dataset, tmp_path):
    source = tmp_path / "source.parquet"
    FRAME.to_parquet(source)
    dataset.save(ParquetTable(str(source)))
    assert dataset.load().num_rows == 3
    # Only the target is left: no temporary sibling.
    assert [p.name for p in (tmp_path / "t").iterdir()] == ["usage.parquet"]


def test_the_engine_reads_the_file_itself(dataset):
    dataset.save(FRAME)
    con = ibis.duckdb.connect()
    read = engine.table(dataset.load(), con)
    assert con.execute(read.logins.sum()) == 10
    with pytest.raises(ValueError, match="needs an engine connection"):
        engine.table(dataset.load())


def test_other_types_are_refused(dataset):
    with pytest.raises(DatasetError, match=r"saves a pandas DataFrame.*got list"):
        dataset.save([1, 2])


def test_a_directory_of_part_files_is_one_table(tmp_path):
    # What Spark writes: a folder of part files.
    folder = tmp_path / "usage.parquet"
    folder.mkdir()
    FRAME.iloc[:2].to_parquet(folder / "part-0.parquet")
    FRAME.iloc[2:].to_parquet(folder / "part-1.parquet")
    table = ParquetTable(str(folder))
    assert table.num_rows == 3
    assert table.columns[:2] == ["account_id", "logins"]


def test_an_empty_frame_keeps_text_columns_typed(dataset):
    # An absent optional table: no rows, object columns. Written as Arrow's null
    # type, a join on account_id would fail in every later query.
    empty = pd.DataFrame(
        {
            "account_id": pd.Series(dtype=object),
            "response_date": pd.Series(dtype="datetime64[ns]"),
        }
    )
    dataset.save(empty)
    schema = dataset.load().schema
    assert str(schema.field("account_id").type) == "string"
    assert str(schema.field("response_date").type) == "timestamp[us]"
