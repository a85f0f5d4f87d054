"""The feature registry: one entry per model feature.

Documentation, reason texts and the serving schema all read from here, so a
feature is described once. :mod:`.base` holds :class:`FeatureSpec` and the
windows, :mod:`.drivers` the named drivers features are grouped into; one module
per feature group holds its specs, in registry order.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from churn_pipeline.features.specs.account import CATEGORIES, TENURE
from churn_pipeline.features.specs.base import (
    DAYS_PER_MONTH,
    KEY_FEATURES,
    TICKET_WINDOWS,
    USAGE_WINDOWS,
    FeatureSpec,
)
from churn_pipeline.features.specs.billing import BILLING
from churn_pipeline.features.specs.drivers import (
    DEFAULT_CONTEXT_DRIVERS,
    DRIVERS,
    DRIVERS_BY_NAME,
    PROFILE,
    THEMES,
    Driver,
    column_driver,
)
from churn_pipeline.features.specs.nps import NPS
from churn_pipeline.features.specs.tickets import TICKETS
from churn_pipeline.features.specs.usage import USAGE

__all__ = [
    "CATEGORICAL_FEATURES",
    "DAYS_PER_MONTH",
    "DEFAULT_CONTEXT_DRIVERS",
    "DRIVERS",
    "DRIVERS_BY_NAME",
    "FEATURES",
    "FEATURES_BY_NAME",
    "KEY_FEATURES",
    "NUMERIC_FEATURES",
    "PROFILE",
    "THEMES",
    "TICKET_WINDOWS",
    "USAGE_WINDOWS",
    "Driver",
    "FeatureSpec",
    "available_features",
    "driver_features",
    "driver_of",
    "feature_names",
]

FEATURES: tuple[FeatureSpec, ...] = (
    *TENURE,
    *USAGE,
    *TICKETS,
    *BILLING,
    *NPS,
    *CATEGORIES,
)

NUMERIC_FEATURES: tuple[str, ...] = tuple(
    f.name for f in FEATURES if f.kind == "numeric"
)
CATEGORICAL_FEATURES: tuple[str, ...] = tuple(
    f.name for f in FEATURES if f.kind == "categorical"
)
FEATURES_BY_NAME: dict[str, FeatureSpec] = {f.name: f for f in FEATURES}


def driver_of(column: str) -> Driver:
    """The driver of a model column.

    A column outside the registry (a customer table's) is a driver of its own,
    theme ``profile``.
    """
    spec = FEATURES_BY_NAME.get(column)
    return DRIVERS_BY_NAME[spec.driver] if spec else column_driver(column)


def driver_features(name: str) -> tuple[str, ...]:
    """The registry features of a driver, in registry order."""
    return tuple(f.name for f in FEATURES if f.driver == name)


def feature_names() -> list[str]:
    """Model feature columns in registry order."""
    return [f.name for f in FEATURES]


def available_features(
    absent_tables: Collection[str] = (),
    columns: Mapping[str, Collection[str]] | None = None,
) -> list[FeatureSpec]:
    """Registry features the data can provide, in registry order.

    Args:
        absent_tables: Optional raw tables declared absent.
        columns: Columns each raw table has (``None``: all it may have); a
            feature whose ``requires`` are missing is left out.

    Returns:
        The features a model can be trained on.
    """
    absent = set(absent_tables)
    columns = columns or {}

    def has_columns(feature: FeatureSpec) -> bool:
        present = columns.get(feature.source)
        return present is None or set(feature.requires) <= set(present)

    return [f for f in FEATURES if f.source not in absent and has_columns(f)]
