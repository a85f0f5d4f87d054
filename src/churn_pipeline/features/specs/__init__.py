"""The feature registry: one entry per model feature.

Documentation, reason texts and the serving schema all read from here, so a
feature is described once. :mod:`.base` holds :class:`FeatureSpec` and the
windows, :mod:`.drivers` the named drivers features are grouped into; one module
per feature group holds its specs, in registry order.

``FEATURES`` is the fixed registry (the demo's set). The usage table's other
count columns add features named from the configuration (:mod:`.configured`):
:func:`feature_specs` is the registry for given usage columns, and
:func:`spec_of` / :func:`driver_of` find a configured feature from its name
alone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from churn_pipeline.features.specs.account import CATEGORIES, TENURE
from churn_pipeline.features.specs.base import (
    DAYS_PER_MONTH,
    KEY_FEATURES,
    TICKET_WINDOWS,
    USAGE_WINDOWS,
    FeatureSpec,
)
from churn_pipeline.features.specs.billing import BILLING
from churn_pipeline.features.specs.configured import (
    BUILT_IN_USAGE_COLUMNS,
    configured_spec,
    configured_usage_columns,
    configured_usage_specs,
    usage_column_driver,
)
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
    "BUILT_IN_USAGE_COLUMNS",
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
    "configured_usage_columns",
    "configured_usage_specs",
    "driver_features",
    "driver_of",
    "feature_names",
    "feature_specs",
    "spec_of",
    "usage_columns_of",
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


def feature_specs(usage_columns: Iterable[str] = ()) -> tuple[FeatureSpec, ...]:
    """The registry plus the features of the configured usage columns.

    Args:
        usage_columns: Columns of the usage table; those outside the contract's
            add features of their own, after the registry's usage features.

    Returns:
        The specs in model-input order (``FEATURES`` when none is configured).
    """
    return (
        *TENURE,
        *USAGE,
        *configured_usage_specs(usage_columns),
        *TICKETS,
        *BILLING,
        *NPS,
        *CATEGORIES,
    )


def spec_of(name: str) -> FeatureSpec | None:
    """The spec of a model column: a registry feature or a configured usage one.

    ``None`` for a column neither names (a customer table's).
    """
    return FEATURES_BY_NAME.get(name) or configured_spec(name)


def usage_columns_of(features: Iterable[str]) -> tuple[str, ...]:
    """The configured usage columns whose features are among ``features``."""
    found = (configured_spec(f) for f in features if f not in FEATURES_BY_NAME)
    return tuple(dict.fromkeys(spec.requires[0] for spec in found if spec))


def driver_of(column: str) -> Driver:
    """The driver of a model column.

    A configured usage column's features share its driver (theme ``usage``); a
    column outside the registry (a customer table's) is a driver of its own,
    theme ``profile``.
    """
    spec = spec_of(column)
    if spec is None:
        return column_driver(column)
    if spec.driver in DRIVERS_BY_NAME:
        return DRIVERS_BY_NAME[spec.driver]
    return usage_column_driver(spec.driver)


def driver_features(name: str) -> tuple[str, ...]:
    """The registry features of a driver, in registry order."""
    return tuple(f.name for f in FEATURES if f.driver == name)


def feature_names(usage_columns: Iterable[str] = ()) -> list[str]:
    """Model feature columns in registry order (see :func:`feature_specs`)."""
    return [f.name for f in feature_specs(usage_columns)]


def available_features(
    absent_tables: Collection[str] = (),
    columns: Mapping[str, Collection[str]] | None = None,
) -> list[FeatureSpec]:
    """Features the data can provide, in registry order.

    Args:
        absent_tables: Optional raw tables declared absent.
        columns: Columns each raw table has (``None``: all it may have); a
            feature whose ``requires`` are missing is left out, and the usage
            table's columns outside the contract add their own features.

    Returns:
        The features a model can be trained on.
    """
    absent = set(absent_tables)
    columns = columns or {}
    usage_columns = () if "usage" in absent else columns.get("usage", ())

    def has_columns(feature: FeatureSpec) -> bool:
        present = columns.get(feature.source)
        return present is None or set(feature.requires) <= set(present)

    return [
        f
        for f in feature_specs(usage_columns)
        if f.source not in absent and has_columns(f)
    ]
