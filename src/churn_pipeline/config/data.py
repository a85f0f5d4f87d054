"""Parameter models of the data stages: demo data, ingestion, validation, features.

One model per parameters file; the files' comments say what each key means.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

from pydantic import Field, model_validator

from churn_pipeline.config.base import (
    Block,
    NonEmptyStr,
    NonNegativeInt,
    PositiveInt,
    one_of,
)
from churn_pipeline.demo_data import DemoDataConfig
from churn_pipeline.features.engine import BACKENDS
from churn_pipeline.ingestion.gaps import CHURN_SOURCES
from churn_pipeline.ingestion.schemas import SOURCE_TABLES
from churn_pipeline.ingestion.usage import AGGREGATIONS
from churn_pipeline.validation import MODES, RAW_TABLES

_DEMO_DEFAULTS = {f.name: f.default for f in dataclasses.fields(DemoDataConfig)}

ValidationMode = Annotated[str, one_of(MODES)]
RawTable = Annotated[str, one_of(RAW_TABLES)]
SourceTable = Annotated[str, one_of(SOURCE_TABLES)]


class TableMapping(Block):
    """How one foreign table maps onto the contract (see validation/mapping.py)."""

    drop: list[NonEmptyStr] = Field(default_factory=list)
    columns: dict[str, NonEmptyStr] = Field(default_factory=dict)
    values: dict[str, dict[Any, Any]] = Field(default_factory=dict)
    constants: dict[str, Any] = Field(default_factory=dict)


class DemoDataParameters(Block):
    """``conf/*/parameters_demo_data.yml``: the simulated business.

    The bounds are ``DemoDataConfig``'s own, checked by building one.
    """

    n_accounts: int
    start_date: str
    end_date: str
    seed: int
    existing_share: float = _DEMO_DEFAULTS["existing_share"]
    churn_scale: float = _DEMO_DEFAULTS["churn_scale"]
    signal_strength: float = _DEMO_DEFAULTS["signal_strength"]

    @model_validator(mode="after")
    def _within_simulation_bounds(self) -> DemoDataParameters:
        DemoDataConfig(**self.model_dump())
        return self


class UsageAggregation(Block):
    """How a day's usage events become one contract usage column."""

    op: Annotated[str, one_of(AGGREGATIONS)]
    column: NonEmptyStr | None = None
    # Only the events whose column holds one of the listed values count.
    where: dict[NonEmptyStr, Annotated[list[Any], Field(min_length=1)]] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _column_unless_count(self) -> UsageAggregation:
        if self.op != "count" and self.column is None:
            raise ValueError(f"op {self.op!r} needs the source `column` it reads")
        return self


class ChurnDefinition(Block):
    """``ingestion.churn``: where the churn events come from.

    ``events``: the source churn-events table. ``gap``: derived from the
    periods; an account churns when its continuous subscription ends and no
    period starts within ``gap_days`` (see ingestion/gaps.py).
    """

    source: Annotated[str, one_of(CHURN_SOURCES)] = "events"
    gap_days: NonNegativeInt = 30
    # A period without an end date: open (active) unless a term per billing
    # cycle is given, e.g. {monthly: 30, annual: 365} (exports of paid terms).
    term_days: dict[NonEmptyStr, PositiveInt] | None = None
    # The contract wants a type and a reason per cancellation; gaps say neither.
    churn_type: NonEmptyStr = "voluntary"
    reason: NonEmptyStr = "other"


class IngestionParameters(Block):
    """``conf/*/parameters_ingestion.yml``: reshaping of foreign source tables."""

    mappings: dict[SourceTable, TableMapping] = Field(default_factory=dict)
    usage_aggregations: dict[NonEmptyStr, UsageAggregation] = Field(min_length=1)
    churn: ChurnDefinition = ChurnDefinition()


class DataValidationParameters(Block):
    """``conf/*/parameters_data_validation.yml``: the raw-data contract."""

    mode: ValidationMode
    max_date: dt.date | None = None
    mappings: dict[RawTable, TableMapping] = Field(default_factory=dict)
    usage_columns: list[NonEmptyStr] = Field(min_length=1)
    allowed_values: dict[NonEmptyStr, Annotated[list[Any], Field(min_length=1)]]
    # Where the large tables read from Parquet are validated (usually the
    # feature engine, globals.yml: feature_engine). A lambda: EngineSettings
    # is defined further down this module.
    engine: EngineSettings = Field(default_factory=lambda: EngineSettings())  # noqa: PLW0108


class EngineSettings(Block):
    """Where the feature expressions run (``globals.yml``: ``feature_engine``)."""

    backend: Annotated[str, one_of(BACKENDS)] = "duckdb"
    # Backend-specific connection options (e.g. Spark's master and config).
    options: dict[str, Any] = Field(default_factory=dict)


class FeatureEngineeringParameters(Block):
    """``conf/*/parameters_feature_engineering.yml``: point-in-time features."""

    horizon_days: PositiveInt
    observation_end: dt.date | None = None
    min_history_days: NonNegativeInt
    max_snapshots: PositiveInt
    label_delay_days: NonNegativeInt = 0
    key_feature_columns: list[NonEmptyStr]
    engine: EngineSettings = EngineSettings()
