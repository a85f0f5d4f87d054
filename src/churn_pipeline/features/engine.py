"""Where feature expressions run: DuckDB in-process by default, or Apache Spark.

The feature code builds Ibis expressions once; a backend executes them. DuckDB
needs no server and suits one machine; Spark (local mode in tests, a cluster in
production) takes over when the data outgrows it. Both give the same features.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from churn_pipeline.datasets.parquet_table import ParquetTable, arrow_table

logger = logging.getLogger(__name__)

BACKENDS = ("duckdb", "pyspark")
# DuckDB settings `engine.options` may set (globals.yml documents them).
DUCKDB_OPTIONS = ("threads", "memory_limit", "temp_directory")
# Where DuckDB spills past its memory limit unless temp_directory says otherwise.
DEFAULT_SPILL = Path(tempfile.gettempdir()) / "churn_pipeline_duckdb"
# Timestamps mean UTC days everywhere; Spark otherwise uses the machine's zone.
_SPARK_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    # Parquet timestamps as DuckDB and pandas write them (Spark's INT96 default
    # reads back as nanoseconds elsewhere).
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}


def connect(
    backend: str = "duckdb", options: Mapping[str, Any] | None = None
) -> BaseBackend:
    """Open an Ibis connection to a feature backend.

    Args:
        backend: One of ``BACKENDS``.
        options: For ``duckdb``: ``threads``, ``memory_limit`` (e.g. ``"3GB"``:
            past it DuckDB spills to disk) and ``temp_directory`` (where it
            spills; default ``DEFAULT_SPILL``). For ``pyspark``: ``master``
            (default ``local[*]``) and ``config`` (Spark settings, e.g.
            executor memory).

    Returns:
        The connection.

    Raises:
        ValueError: If ``backend`` or a DuckDB option is unknown.
        ImportError: If ``pyspark`` is asked for but not installed (the
            ``spark`` extra).
    """
    options = dict(options or {})
    if backend == "duckdb":
        unknown = sorted(set(options) - set(DUCKDB_OPTIONS))
        if unknown:
            raise ValueError(
                f"feature_engine.options: unknown DuckDB option(s) {unknown}; "
                f"allowed: {list(DUCKDB_OPTIONS)}"
            )
        # The validation engine spills to the same place (docs/scale.md); a
        # folder per process, since two runs' DuckDBs would reuse one file name.
        options.setdefault("temp_directory", str(DEFAULT_SPILL / str(os.getpid())))
        # DuckDB makes the spill folder itself but not its parents (a fresh
        # machine has no DEFAULT_SPILL yet), and fails only once it spills.
        Path(options["temp_directory"]).parent.mkdir(parents=True, exist_ok=True)
        con = ibis.duckdb.connect()
        for setting in DUCKDB_OPTIONS:
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
    data: pd.DataFrame | ParquetTable | ibis.Table, con: BaseBackend | None = None
) -> ibis.Table:
    """A pandas frame, a Parquet file or another node's expression as an Ibis table.

    A :class:`ParquetTable` is read by ``con`` itself, out of core: the rows
    never pass through pandas. A frame is converted to Arrow once, column by
    column. Text (object) columns are typed as text even when empty: an absent
    optional table is an empty frame, and an all-empty object column would
    otherwise have no type. Handing Ibis the pandas frame instead makes it
    infer each object column's type from its values and convert the frame
    again when a query first reads it (docs/benchmarks.md). An expression
    bound to ``con`` (or with no ``con`` given) is used as it is; one from
    another connection (an in-memory catalog hands a node's expression on) is
    run once on its own engine and its rows handed over as Arrow.

    Args:
        data: The rows, in memory, in a file or as an expression.
        con: The engine that reads a file or runs the query.

    Raises:
        ValueError: If ``data`` is a file and no connection is given.
    """
    if isinstance(data, ParquetTable):
        if con is None:
            raise ValueError(f"Reading {data.path!r} needs an engine connection")
        return con.read_parquet(data.path)
    if isinstance(data, ibis.Table):
        backends, _ = data._find_backends()
        # Identity, not ==: Ibis calls two in-memory DuckDB connections equal.
        if con is None or (len(backends) == 1 and backends[0] is con):
            return data
        # Only an in-memory catalog passes expressions between nodes (a file
        # catalog passes ParquetTables), so these rows are few: running the
        # expression here, on ``con``, could not reach its connection's tables,
        # and re-running a memtable chain in every later node costs more.
        return ibis.memtable(data.to_pyarrow())
    return ibis.memtable(arrow_table(data))


def with_declared_types(con: BaseBackend, expr: ibis.Table) -> ibis.Table:
    """``expr`` on ``con`` with each column of the type Ibis declares for it.

    Ibis writes a float literal as ``1.0``, which DuckDB and Spark read as a
    decimal, so ``ifelse(c, 1.0, 0.0)`` is a float64 to Ibis but a decimal in
    the engine's own result. Its execute methods convert to the declared types;
    an engine writing the rows straight to a file does not, so the columns
    whose types differ are cast here (a view: nothing runs yet).

    Args:
        con: The connection the expression runs on.
        expr: The expression.

    Returns:
        A table bound to ``con`` with ``expr``'s schema.
    """
    view = con.create_view(ibis.util.gen_name("typed"), expr, overwrite=True)
    declared = expr.schema()
    casts = {
        name: declared[name]
        for name, actual in view.schema().items()
        if actual.copy(nullable=True) != declared[name].copy(nullable=True)
    }
    return view.cast(casts) if casts else view


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


def write_parquet(expr: ibis.Table, path: str | Path) -> None:
    """Write ``expr`` to one Parquet file at ``path``, executed by its own engine.

    DuckDB streams the rows into the file (``COPY``). Spark writes a directory
    of part files; with one partition it holds a single file, which is moved to
    ``path`` so that every engine reads the result as one file.

    Args:
        expr: The rows (bound to a connection, or built from memtables only).
        path: The file to write; its parent must exist.
    """
    backends, _ = expr._find_backends()
    if not backends or backends[0].name != "pyspark":
        expr.to_parquet(path)
        return
    from pyspark.sql import functions  # noqa: PLC0415 (optional `spark` extra)

    con = backends[0]
    parts = Path(f"{path}.parts")
    frame = con._session.sql(con.compile(expr))
    for name, dtype in expr.schema().items():
        # Spark's TIMESTAMP is zoned; a date Ibis holds without a zone is
        # written as one without, like DuckDB writes it.
        if dtype.is_timestamp() and dtype.timezone is None:
            frame = frame.withColumn(name, functions.col(name).cast("timestamp_ntz"))
    # coalesce keeps the sorted partitions' order; repartition would not.
    frame.coalesce(1).write.mode("overwrite").parquet(str(parts))
    try:
        (single,) = parts.glob("part-*.parquet")
        os.replace(single, path)
    finally:
        shutil.rmtree(parts, ignore_errors=True)
