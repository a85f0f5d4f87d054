"""Where feature expressions run: DuckDB in-process by default, or Apache Spark.

The feature code builds Ibis expressions once; a backend executes them. DuckDB
needs no server and suits one machine; Spark (local mode in tests, a cluster in
production) takes over when the data outgrows it. Both give the same features.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import ibis
import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from churn_pipeline.datasets.parquet_table import ParquetTable

logger = logging.getLogger(__name__)

BACKENDS = ("duckdb", "pyspark")
# Timestamps mean UTC days everywhere; Spark otherwise uses the machine's zone.
_SPARK_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
}


def connect(
    backend: str = "duckdb", options: Mapping[str, Any] | None = None
) -> BaseBackend:
    """Open an Ibis connection to a feature backend.

    Args:
        backend: One of ``BACKENDS``.
        options: For ``duckdb``: ``threads`` and ``memory_limit`` (e.g.
            ``"3GB"``). For ``pyspark``: ``master`` (default ``local[*]``) and
            ``config`` (Spark settings, e.g. executor memory).

    Returns:
        The connection.

    Raises:
        ValueError: If ``backend`` is unknown.
        ImportError: If ``pyspark`` is asked for but not installed (the
            ``spark`` extra).
    """
    options = dict(options or {})
    if backend == "duckdb":
        con = ibis.duckdb.connect()
        for setting in ("threads", "memory_limit"):
            if options.get(setting) is not None:
                con.raw_sql(f"SET {setting} = '{options[setting]}'")
        return con
    if backend == "pyspark":
        from pyspark.sql import SparkSession  # noqa: PLC0415 (optional `spark` extra)

        builder = SparkSession.builder.appName("churn_pipeline").master(
            options.get("master", "local[*]")
        )
        for key, value in {**_SPARK_DEFAULTS, **options.get("config", {})}.items():
            builder = builder.config(key, str(value))
        session = builder.getOrCreate()
        session.sparkContext.setLogLevel("ERROR")
        return ibis.pyspark.connect(session)
    raise ValueError(f"Unknown feature backend {backend!r}; allowed: {list(BACKENDS)}")


def connect_configured(params: Mapping[str, Any]) -> BaseBackend:
    """Open the connection ``feature_engineering.engine`` configures.

    Args:
        params: ``feature_engineering`` parameters; ``engine.backend`` (default
            ``duckdb``) and ``engine.options`` go to :func:`connect`.

    Returns:
        The connection.
    """
    settings = params.get("engine") or {}
    return connect(settings.get("backend", "duckdb"), settings.get("options"))


def table(
    data: pd.DataFrame | ParquetTable, con: BaseBackend | None = None
) -> ibis.Table:
    """A pandas frame or a Parquet file as an Ibis table.

    A :class:`ParquetTable` is read by ``con`` itself, out of core: the rows
    never pass through pandas. A frame is converted to Arrow once, column by
    column. Text (object) columns are typed as text even when empty: an absent
    optional table is an empty frame, and an all-empty object column would
    otherwise have no type. Handing Ibis the pandas frame instead makes it
    infer each object column's type from its values and convert the frame
    again when a query first reads it (docs/benchmarks.md).

    Args:
        data: The rows, in memory or in a file.
        con: The engine that reads a file; unused for a frame.

    Raises:
        ValueError: If ``data`` is a file and no connection is given.
    """
    if isinstance(data, ParquetTable):
        if con is None:
            raise ValueError(f"Reading {data.path!r} needs an engine connection")
        return con.read_parquet(data.path)
    return ibis.memtable(
        pa.table(
            {
                name: pa.array(values, type=_arrow_type(values), from_pandas=True)
                for name, values in data.items()
            }
        )
    )


def _arrow_type(values: pd.Series) -> pa.DataType | None:
    """Text for object columns; timestamps in microseconds, as Ibis stores them."""
    if values.dtype == object:
        return pa.string()
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return pa.timestamp("us", tz=str(values.dtype.tz))
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return pa.timestamp("us")
    return None  # Arrow's own type for the column's dtype


def execute(con: BaseBackend, expr: ibis.Table, keys: list[str]) -> pd.DataFrame:
    """Run ``expr`` and return it as pandas, ordered by ``keys``.

    Args:
        con: A connection from :func:`connect`.
        expr: The expression.
        keys: Columns that identify a row (the order is made explicit, since
            SQL engines return rows in any order).

    Returns:
        The result with a fresh index.
    """
    # Through Arrow: the same frame as ``con.to_pandas``, without Ibis's
    # per-column conversion, which took longer than the query on DuckDB.
    frame = con.to_pyarrow(expr.order_by(keys)).to_pandas()
    return frame.reset_index(drop=True)
