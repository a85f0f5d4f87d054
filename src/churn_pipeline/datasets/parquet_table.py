"""Parquet tables handed on by reference, so a large table never has to fit in pandas.

Loading returns a :class:`ParquetTable` (the file's path, its columns and row
count) instead of reading the rows; the validation and feature engines read the
file themselves (DuckDB or Spark, out of core). Saving takes a pandas frame, an
Ibis expression (executed straight into the file by its engine) or another
:class:`ParquetTable` (copied). Every save is atomic, like the other datasets.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from kedro.io.core import DatasetError, get_filepath_str

from churn_pipeline.datasets.atomic import (
    TEMP_SUFFIX,
    AtomicParquetDataset,
)


@dataclass(frozen=True)
class ParquetTable:
    """A Parquet file on the local filesystem, not yet read.

    Attributes:
        path: The file.
    """

    path: str

    @cached_property
    def _dataset(self) -> Any:
        # A file, or a directory of part files as Spark writes them.
        return pads.dataset(self.path, format="parquet")

    @property
    def schema(self) -> Any:
        """The Arrow schema (read from the footers, no rows)."""
        return self._dataset.schema

    @property
    def columns(self) -> list[str]:
        """Column names, in file order."""
        return list(self.schema.names)

    @property
    def num_rows(self) -> int:
        """Row count (from the footer)."""
        return int(self._dataset.count_rows())

    def to_pandas(self, columns: list[str] | None = None) -> pd.DataFrame:
        """Read the rows into pandas: only for tables known to be small."""
        return pd.read_parquet(self.path, columns=columns)


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as Arrow with the types every engine reads alike.

    Text (object) columns are typed as text even when empty (an absent optional
    table is an empty frame, and an all-empty object column would otherwise be
    written as Arrow's ``null`` type, which no query can join on); timestamps
    are microseconds, as Ibis holds them and as Spark can read them.
    """
    return pa.table(
        {
            name: pa.array(values, type=_arrow_type(values), from_pandas=True)
            for name, values in frame.items()
        }
    )


def _arrow_type(values: pd.Series) -> pa.DataType | None:
    if values.dtype == object:
        return pa.string()
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return pa.timestamp("us", tz=str(values.dtype.tz))
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return pa.timestamp("us")
    return None  # Arrow's own type for the column's dtype


# What a node that reads a large table accepts: rows in memory, or a file.
TableData = pd.DataFrame | ParquetTable


def as_pandas(data: TableData | None) -> pd.DataFrame | None:
    """A frame whatever the input: read a :class:`ParquetTable`, pass the rest."""
    return data.to_pandas() if isinstance(data, ParquetTable) else data


class ParquetTableDataset(AtomicParquetDataset):
    """A Parquet file loaded as a :class:`ParquetTable` reference.

    Takes the arguments of ``pandas.ParquetDataset`` (``filepath``,
    ``save_args``); the file must be local (the engines read the path).
    """

    def load(self) -> ParquetTable:  # type: ignore[override]
        """Return a reference to the file; no row is read."""
        path = get_filepath_str(self._get_load_path(), self._protocol)
        if self._protocol != "file":
            raise DatasetError(
                f"ParquetTableDataset reads local files only, got {path!r} "
                f"(protocol {self._protocol!r}); use pandas.ParquetDataset there"
            )
        return ParquetTable(path)

    def save(self, data: pd.DataFrame | ParquetTable | ibis.Table) -> None:  # type: ignore[override]
        """Write ``data`` to the file through a temporary sibling."""
        target = Path(get_filepath_str(self._get_save_path(), self._protocol))
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
        try:
            if isinstance(data, pd.DataFrame):
                pq.write_table(arrow_table(data), temp)
            elif isinstance(data, ParquetTable):
                shutil.copyfile(data.path, temp)
            elif isinstance(data, ibis.Table):
                # Imported here: the engine module imports this one.
                from churn_pipeline.features.engine import write_parquet  # noqa: PLC0415

                # The expression's own engine writes its rows into one file.
                write_parquet(data, temp)
            else:
                raise DatasetError(
                    f"ParquetTableDataset saves a pandas DataFrame, an Ibis table "
                    f"or a ParquetTable, got {type(data).__name__}"
                )
            os.replace(temp, target)
        finally:
            temp.unlink(missing_ok=True)
        self._invalidate_cache()
