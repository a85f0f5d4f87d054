"""Specs of the features of configured usage columns, named from the configuration.

The registry's usage features cover the contract's columns (``logins``,
``active_users`` and the demo's key features ``uses_<feature>``). Every other
count column of the usage table (``data_validation.usage_columns``, which
includes ``feature_engineering.key_feature_columns``) gets features of its own:

- ``<column>_<days>d`` for each of ``USAGE_WINDOWS``: the column's sum;
- ``<column>_trend_30d``: last 30 days vs the 30 before, ``(last + 1) /
  (previous + 1) - 1``;
- ``days_since_<column>``: days since the last day with a positive value (from
  signup or the start of usage history when there is none);
- ``<column>_per_seat_30d``: the 30-day sum per paid seat.

Each configured column is a driver of its own (named like the column, theme
``usage``). A name that would collide with a registry feature or driver, or with
another configured column's feature, is refused with the column to rename.
Names are read back from the features alone (:func:`configured_spec`), so a
served model finds its descriptions and drivers without the configuration.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from churn_pipeline.features.specs.account import CATEGORIES, TENURE
from churn_pipeline.features.specs.base import (
    KEY_FEATURES,
    USAGE_WINDOWS,
    FeatureSpec,
    numeric,
)
from churn_pipeline.features.specs.billing import BILLING
from churn_pipeline.features.specs.drivers import DRIVERS_BY_NAME, Driver
from churn_pipeline.features.specs.nps import NPS
from churn_pipeline.features.specs.tickets import TICKETS
from churn_pipeline.features.specs.usage import USAGE

# The usage table's fixed columns (the data contract), not counts.
USAGE_KEYS = ("account_id", "usage_date")
# Count columns the registry's own usage features read.
BUILT_IN_USAGE_COLUMNS = (
    "logins",
    "active_users",
    *(f"uses_{feature}" for feature in KEY_FEATURES),
)
# Names of the registry's features, which no configured feature may take.
_REGISTRY = frozenset(
    spec.name
    for group in (TENURE, USAGE, TICKETS, BILLING, NPS, CATEGORIES)
    for spec in group
)
# Feature names become API fields and SHAP labels: plain identifiers only.
_COLUMN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_WINDOWS = "|".join(str(days) for days in USAGE_WINDOWS)
# How a feature name reads back to its column, tried in this order (a trend
# also ends in ``_30d``).
_PATTERNS = (
    re.compile(r"days_since_(?P<column>.+)"),
    re.compile(r"(?P<column>.+)_trend_30d"),
    re.compile(r"(?P<column>.+)_per_seat_30d"),
    re.compile(rf"(?P<column>.+)_(?:{_WINDOWS})d"),
)


def readable(column: str) -> str:
    """A column name as words: ``feature_errors`` -> ``feature errors``."""
    return column.replace("_", " ")


def usage_column_driver(column: str) -> Driver:
    """The driver of a configured usage column: itself, theme ``usage``."""
    return Driver(column, readable(column).capitalize(), "usage", f"{column}_30d")


def configured_usage_columns(columns: Iterable[str]) -> tuple[str, ...]:
    """The usage table's count columns that need features of their own.

    Args:
        columns: Columns of the usage table (or ``data_validation.usage_columns``);
            the contract's keys and the built-in columns are skipped.

    Returns:
        The other columns, in their order, each once.

    Raises:
        ValueError: If a column is not a plain identifier.
    """
    skipped = {*USAGE_KEYS, *BUILT_IN_USAGE_COLUMNS}
    found = tuple(dict.fromkeys(str(c) for c in columns if c not in skipped))
    bad = [c for c in found if not _COLUMN.fullmatch(c)]
    if bad:
        raise ValueError(
            f"usage table: column names {bad} must be identifiers (a letter, then "
            "letters, digits or _) to name features; rename them in "
            "data_validation.mappings.usage.columns (or ingestion.usage_aggregations)"
        )
    return found


def _column_specs(column: str) -> tuple[FeatureSpec, ...]:
    """The features of one configured usage column (see the module docstring)."""
    words = readable(column)
    options = {"requires": (column,), "driver": column}
    windows = tuple(
        numeric(
            f"{column}_{days}d",
            f"Sum of the usage column `{column}` in the {days} days up to the "
            "as-of date.",
            "count",
            "usage",
            f"{days}d",
            f"{words}: {{value:.0f}} in the last {days} days",
            10.0 * days,
            zero_reason=f"no {words} in the last {days} days",
            **options,
        )
        for days in USAGE_WINDOWS
    )
    return (
        *windows,
        numeric(
            f"{column}_trend_30d",
            f"Relative change of `{column}`, last 30 days vs the 30 days before: "
            "(last + 1) / (previous + 1) - 1.",
            "relative change",
            "usage",
            "60d",
            f"{words} {{change}} vs the previous 30 days",
            -0.1,
            minimum=-1.0,
            **options,
        ),
        numeric(
            f"days_since_{column}",
            f"Days since the last day with a positive `{column}`; when none is on "
            "record, days since usage history (or the account) began.",
            "days",
            "usage",
            None,
            f"no {words} for {{value:.0f}} day{{s}}",
            3.0,
            zero_reason=f"{words} on the day scored",
            **options,
        ),
        numeric(
            f"{column}_per_seat_30d",
            f"Sum of `{column}` in the last 30 days per paid seat.",
            "ratio",
            "usage",
            "30d",
            f"{{value:.1f}} {words} per paid seat in the last 30 days",
            12.0,
            **options,
        ),
    )


def _read_back(name: str) -> str | None:
    """The column a configured feature name reads back to, by ``_PATTERNS``."""
    for pattern in _PATTERNS:
        match = pattern.fullmatch(name)
        if match:
            return match["column"]
    return None


def _clashes(column: str, specs: Iterable[FeatureSpec], taken: dict[str, str]) -> str:
    """Why a column's features cannot be named, or ``""``."""
    if column in DRIVERS_BY_NAME:
        return f"its driver would be the registry driver {column!r}"
    for spec in specs:
        if spec.name in _REGISTRY:
            return f"{spec.name!r} is a registry feature"
        if spec.name in taken:
            return f"{spec.name!r} is also a feature of column {taken[spec.name]!r}"
        if _read_back(spec.name) != column:
            return f"{spec.name!r} reads back as column {_read_back(spec.name)!r}"
    return ""


def configured_usage_specs(columns: Iterable[str]) -> tuple[FeatureSpec, ...]:
    """The features of the configured usage columns, column by column.

    Args:
        columns: Columns of the usage table; see :func:`configured_usage_columns`.

    Returns:
        Seven features per configured column (four windows, trend, recency,
        per seat), none for the contract's keys and built-in columns.

    Raises:
        ValueError: If a feature name collides with a registry feature or
            driver, or with another column's feature: rename the column.
    """
    taken: dict[str, str] = {}
    specs: list[FeatureSpec] = []
    for column in configured_usage_columns(columns):
        own = _column_specs(column)
        clash = _clashes(column, own, taken)
        if clash:
            raise ValueError(
                f"usage column {column!r} cannot get features of its own: {clash}; "
                "rename the column in data_validation.mappings.usage.columns (or "
                "ingestion.usage_aggregations)"
            )
        taken |= {spec.name: column for spec in own}
        specs.extend(own)
    return tuple(specs)


@functools.lru_cache(maxsize=1024)
def configured_spec(name: str) -> FeatureSpec | None:
    """The spec of a configured usage feature, read from its name alone.

    ``None`` when ``name`` is no configured usage feature's name (a registry
    feature, a customer-table column that does not read as one, ...).
    """
    column = _read_back(name)
    if column is None or not _COLUMN.fullmatch(column):
        return None
    if column in BUILT_IN_USAGE_COLUMNS or column in USAGE_KEYS:
        return None
    try:
        specs = configured_usage_specs([column])
    except ValueError:
        return None
    return next((spec for spec in specs if spec.name == name), None)
