"""Batch scoring on Spark: the scored list computed by the executors.

The executors run :func:`~churn_pipeline.scoring.accounts.score_columns`, the
code the embedded path and the service run, on each partition
(``DataFrame.mapInPandas``): the model's own preprocessing, probability, SHAP
reasons, value and playbook. So a row's score on Spark is its embedded score.
The scored list has one row per account, so it may come back to the driver
(:func:`collect_scores`); :func:`scored_frame` leaves it on Spark for writing.

A registered model scores straight from the registry with
:func:`score_registered`; :func:`churn_probability_udf` is MLflow's own
``spark_udf`` of the registered pyfunc, for a probability column only.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pa_dataset

from churn_pipeline.datasets.parquet_table import ParquetTable, TableData
from churn_pipeline.features import engine
from churn_pipeline.models import ChurnEnsemble, ChurnExplainer
from churn_pipeline.scoring.accounts import score_accounts
from churn_pipeline.scoring.policy import ScoringPolicy

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

logger = logging.getLogger(__name__)

# Each input row's position, so the collected list keeps the input's order
# (the embedded path's) whatever order the partitions finish in.
ROW_COLUMN = "_churn_row"
# Rows scored on the driver to learn the output's column types.
_SAMPLE_ROWS = 200
_NANOS_AS_LONG = "spark.sql.legacy.parquet.nanosAsLong"
# Schema metadata: the embedded list holds this column as Python objects.
_PYTHON_VALUES = "churn_pipeline.python_values"


def uses_spark(feature_engineering: Mapping[str, Any]) -> bool:
    """Whether the configured engine (``feature_engineering.engine``) is Spark."""
    settings = feature_engineering.get("engine") or {}
    return settings.get("backend", "duckdb") == "pyspark"


def spark_session(feature_engineering: Mapping[str, Any]) -> SparkSession:
    """The Spark session of the configured engine, ready for Python UDFs.

    Args:
        feature_engineering: ``feature_engineering`` parameters whose
            ``engine`` is ``pyspark`` (master and Spark settings).

    Returns:
        The session the feature build uses (``getOrCreate``: one per process).
    """
    session = engine.connect_configured(feature_engineering)._session
    _prepare(session)
    return session


def _prepare(session: SparkSession) -> None:
    """Collect through Arrow; in local mode, run the driver's Python.

    Without Arrow, ``toPandas`` converts row by row. Spark starts ``python3``
    from the PATH for its Python workers unless ``PYSPARK_PYTHON`` was set
    when the session began, which may lack pandas and this package. On a
    cluster the executors' Python is the one ``PYSPARK_PYTHON`` names
    (docs/scale.md), so it is left alone.
    """
    session.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")
    context = session.sparkContext
    if context.master.startswith("local") and "PYSPARK_PYTHON" not in os.environ:
        context.pythonExec = sys.executable


def spark_frame(session: SparkSession, data: TableData) -> DataFrame:
    """Feature rows as a Spark DataFrame with their position in ``ROW_COLUMN``.

    Args:
        session: The Spark session.
        data: A pandas frame, or a Parquet file Spark reads itself (never
            through pandas).

    Returns:
        The rows; ``ROW_COLUMN`` numbers them in the input's order.
    """
    if isinstance(data, ParquetTable):
        return _read_parquet(session, data)
    table = pa.Table.from_pandas(
        data.assign(**{ROW_COLUMN: np.arange(len(data), dtype=np.int64)}),
        preserve_index=False,
    )
    # A column with no value at all has no type Spark accepts; text it is.
    table = table.cast(
        pa.schema(
            [
                field.with_type(pa.string()) if pa.types.is_null(field.type) else field
                for field in table.schema
            ]
        )
    )
    return session.createDataFrame(table)


def _read_parquet(session: SparkSession, data: ParquetTable) -> DataFrame:
    """A Parquet file read by Spark, numbered in file order.

    pandas writes nanosecond timestamps, which Spark refuses to read
    (``PARQUET_TYPE_ILLEGAL``); those are read as integers and turned back
    into timestamps (to the microsecond, Spark's unit) while the setting that
    allows it holds, then kept (``localCheckpoint``): the file is spine-sized.
    """
    from pyspark.sql import functions  # noqa: PLC0415 (optional extra)

    # A file, or a directory of part files (Spark writes those): the footers.
    schema = pa_dataset.dataset(data.path, format="parquet").schema
    nanos = [
        field.name
        for field in schema
        if pa.types.is_timestamp(field.type) and field.type.unit == "ns"
    ]
    if not nanos:
        # Increasing with partition and row: the file's order.
        frame = session.read.parquet(data.path)
        return frame.withColumn(ROW_COLUMN, functions.monotonically_increasing_id())
    previous = session.conf.get(_NANOS_AS_LONG, "false")
    session.conf.set(_NANOS_AS_LONG, "true")
    try:
        frame = session.read.parquet(data.path).withColumns(
            {
                **{name: _micros(functions, name) for name in nanos},
                ROW_COLUMN: functions.monotonically_increasing_id(),
            }
        )
        return frame.localCheckpoint(eager=True)
    finally:
        session.conf.set(_NANOS_AS_LONG, previous)


def _micros(functions: Any, name: str) -> Column:
    """Nanoseconds read as an integer, back to a timestamp (integer division)."""
    return functions.timestamp_micros(functions.expr(f"`{name}` div 1000"))


def scored_frame(
    frame: DataFrame,
    model: ChurnEnsemble,
    policy: ScoringPolicy,
    *,
    carry: Sequence[str] = (),
) -> DataFrame:
    """The scored list of ``frame``'s rows, computed on the executors.

    Args:
        frame: Feature rows: ``account_id``, the model's features and the
            columns the policy reads (MRR, context, playbook triggers); with
            ``ROW_COLUMN`` (:func:`spark_frame`) the row order is kept.
        model: The fitted ensemble (sent to the executors once, broadcast).
        policy: The scoring policy.
        carry: Input columns passed through after the scores (e.g.
            ``as_of_date``).

    Returns:
        A Spark DataFrame: the columns of
        :func:`~churn_pipeline.scoring.accounts.score_accounts`, then
        ``carry``, then ``ROW_COLUMN`` if ``frame`` has it.
    """
    sample = frame.limit(_SAMPLE_ROWS).toPandas()
    keep = [*carry, *([ROW_COLUMN] if ROW_COLUMN in frame.columns else [])]
    schema = _output_schema(frame, score_accounts(model, sample, policy), keep)
    shared = frame.sparkSession.sparkContext.broadcast((model, policy))

    def score_partition(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        fitted, rules = shared.value
        explainer = ChurnExplainer(fitted)  # once per partition, not per batch
        for batch in batches:
            scores = score_accounts(fitted, batch, rules, explainer=explainer)
            yield scores.assign(**{c: batch[c].to_numpy() for c in keep})

    return frame.mapInPandas(score_partition, schema)


def _output_schema(frame: DataFrame, sample: pd.DataFrame, keep: list[str]) -> Any:
    """Spark types of the scores (from a scored sample) and the kept columns."""
    from pyspark.sql.pandas.types import from_arrow_type  # noqa: PLC0415
    from pyspark.sql.types import StructField, StructType  # noqa: PLC0415

    arrow = pa.Table.from_pandas(sample, preserve_index=False).schema
    fields = [
        StructField(
            field.name,
            from_arrow_type(_typed(field.type)),
            nullable=True,
            # Python values in the embedded list (lists, ints with None).
            metadata={_PYTHON_VALUES: sample[field.name].dtype == object},
        )
        for field in arrow
    ]
    given = {field.name: field for field in frame.schema.fields}
    return StructType([*fields, *(given[name] for name in keep)])


def _typed(kind: pa.DataType) -> pa.DataType:
    """The sample's Arrow type, text where the sample had only missing values."""
    if pa.types.is_null(kind):
        return pa.string()
    if pa.types.is_list(kind) and pa.types.is_null(kind.value_type):
        return pa.list_(pa.string())  # reasons and triggers are text lists
    return kind


def collect_scores(scored: DataFrame) -> pd.DataFrame:
    """The scored list on the driver, in the input's order, typed as embedded.

    Args:
        scored: :func:`scored_frame` output.

    Returns:
        The scores as :func:`~churn_pipeline.scoring.accounts.score_accounts`
        returns them, then the carried columns.
    """
    from pyspark.sql.types import TimestampNTZType, TimestampType  # noqa: PLC0415

    frame = scored.toPandas()
    if ROW_COLUMN in frame:
        frame = frame.sort_values(ROW_COLUMN, kind="stable").drop(columns=ROW_COLUMN)
    frame = frame.reset_index(drop=True)
    for field in scored.schema.fields:
        if field.metadata.get(_PYTHON_VALUES):
            frame[field.name] = _as_embedded(frame[field.name], field.dataType)
        elif isinstance(field.dataType, TimestampType | TimestampNTZType):
            # Naive UTC (the session's zone) in pandas' own unit, as embedded.
            frame[field.name] = frame[field.name].astype("datetime64[ns]")
    return frame


def _as_embedded(values: pd.Series, kind: Any) -> pd.Series:
    """A column back in the embedded list's Python values.

    Spark hands text lists back as numpy arrays and whole numbers with gaps
    as floats; the embedded list holds Python lists and ints with ``None``.
    """
    from pyspark.sql.types import ArrayType, IntegralType  # noqa: PLC0415

    if isinstance(kind, ArrayType):
        return pd.Series([list(v) for v in values], index=values.index, dtype=object)
    if isinstance(kind, IntegralType):
        return pd.Series(
            [None if pd.isna(v) else int(v) for v in values],
            index=values.index,
            dtype=object,
        )
    return values


def score_on_spark(
    session: SparkSession,
    features: TableData,
    model: ChurnEnsemble,
    policy: ScoringPolicy,
    *,
    carry: Sequence[str] = (),
) -> pd.DataFrame:
    """:func:`~churn_pipeline.scoring.accounts.score_accounts` run by Spark.

    Args:
        session: The Spark session.
        features: Feature rows, in pandas or a Parquet file.
        model: The fitted ensemble.
        policy: The scoring policy.
        carry: Input columns returned after the scores.

    Returns:
        The scored list in the input's order: equal to the embedded path's.
    """
    scored = scored_frame(spark_frame(session, features), model, policy, carry=carry)
    scores = _carried_as_read(collect_scores(scored), features, carry)
    logger.info(
        "Scored %d accounts on Spark (%s)", len(scores), session.sparkContext.master
    )
    return scores


def _carried_as_read(
    scores: pd.DataFrame, features: TableData, carry: Sequence[str]
) -> pd.DataFrame:
    """Carried columns in the dtype pandas gives the input (e.g. its time unit).

    Spark hands timestamps back as naive UTC; the embedded path keeps what
    reading the input gave (a file's microseconds, a time zone).
    """
    if isinstance(features, ParquetTable):
        schema = pa_dataset.dataset(features.path, format="parquet").schema
        dtypes = schema.empty_table().to_pandas().dtypes
    else:
        dtypes = features.dtypes
    for name in carry:
        values, dtype = scores[name], dtypes[name]
        if isinstance(dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_localize("UTC")
        scores[name] = values.astype(dtype)
    return scores


def score_registered(frame: DataFrame, model_uri: str) -> pd.DataFrame:
    """Score a Spark DataFrame of feature rows with a registered model.

    Args:
        frame: Feature rows (e.g. ``spark.read.parquet(...)`` of the feature
            build's scoring snapshots).
        model_uri: ``models:/<name>@<alias>`` or ``models:/<name>/<version>``.

    Returns:
        The scored list with the policy registered with the model, in the
        frame's order (read order).
    """
    from pyspark.sql import functions  # noqa: PLC0415

    from churn_pipeline.model_registry.mlflow_store import load_model  # noqa: PLC0415

    model, policy = load_model(model_uri)
    _prepare(frame.sparkSession)
    numbered = frame.withColumn(ROW_COLUMN, functions.monotonically_increasing_id())
    return collect_scores(scored_frame(numbered, model, policy))


def churn_probability_udf(session: SparkSession, model_uri: str) -> Column:
    """MLflow's Spark UDF of the registered pyfunc, applied to its features.

    Args:
        session: The Spark session.
        model_uri: A registered model URI.

    Returns:
        A column expression: the churn probability of each row, read from the
        columns the model's signature names (extra columns are ignored).
    """
    import mlflow  # noqa: PLC0415
    from pyspark.sql import functions  # noqa: PLC0415

    _prepare(session)
    # The executors use this environment: the project's, not a rebuilt one.
    udf = mlflow.pyfunc.spark_udf(
        session, model_uri, result_type="double", env_manager="local"
    )
    names = mlflow.models.get_model_info(model_uri).signature.inputs.input_names()
    return udf(functions.struct(*names))
