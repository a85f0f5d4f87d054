"""Map a foreign table onto the contract by configuration: names, values, constants.

A team's export rarely uses the contract's names (``plan_tier`` for ``plan``,
``"Basic"`` for ``"basic"``, no discount column at all). The mapping for each
raw table lives in ``data_validation.mappings.<table>`` and is applied before
validation, so the rules then judge the mapped values.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import ibis
import pandas as pd

MAPPING_KEYS = ("columns", "values", "constants", "drop")


def apply_mapping(raw: pd.DataFrame, mapping: Mapping[str, Any]) -> pd.DataFrame:
    """Rename, drop, recode and complete a raw table's columns.

    Args:
        raw: The table as exported.
        mapping: Any of ``drop`` (source columns to ignore), ``columns``
            (source name -> contract name), ``values`` (contract column ->
            {source value -> contract value}; unlisted values pass unchanged and
            validation judges them) and ``constants`` (contract column -> value
            for a column the source lacks).

    Returns:
        A new frame; ``raw`` is not modified.

    Raises:
        ValueError: On unknown mapping keys, missing source columns, or a
            constant for a column the table already has.
    """
    drop, renames = _checked(mapping, raw.columns)
    mapped = raw.drop(columns=drop).rename(columns=renames)
    for column, recode in mapping.get("values", {}).items():
        if column not in mapped.columns:
            raise ValueError(f"Value mapping for absent column {column!r}")
        # Keys come from YAML as text; match the column's values as text too.
        as_text = {str(source): target for source, target in recode.items()}
        text = mapped[column].astype("string")
        mapped[column] = mapped[column].where(~text.isin(as_text), text.map(as_text))
    for column, value in mapping.get("constants", {}).items():
        if column in mapped.columns:
            raise ValueError(f"Constant for {column!r}, which the table already has")
        mapped[column] = value
    return mapped


def apply_mapping_expr(raw: ibis.Table, mapping: Mapping[str, Any]) -> ibis.Table:
    """:func:`apply_mapping` as an Ibis expression: the engine does the work.

    A recoded column becomes text (its mapped and unmapped values side by
    side); validation then casts it to the contract's type like any raw value.

    Args:
        raw: The table as exported, read by an engine.
        mapping: As for :func:`apply_mapping`.

    Returns:
        The mapped expression.

    Raises:
        ValueError: As for :func:`apply_mapping`.
    """
    drop, renames = _checked(mapping, raw.columns)
    mapped = raw.drop(*drop) if drop else raw
    mapped = mapped.rename({new: old for old, new in renames.items()})
    recoded = {}
    for column, recode in mapping.get("values", {}).items():
        if column not in mapped.columns:
            raise ValueError(f"Value mapping for absent column {column!r}")
        text = mapped[column].cast("string")
        as_text = {str(source): str(target) for source, target in recode.items()}
        recoded[column] = text.substitute(as_text)
    constants = {}
    for column, value in mapping.get("constants", {}).items():
        if column in mapped.columns:
            raise ValueError(f"Constant for {column!r}, which the table already has")
        constants[column] = ibis.literal(value)
    return mapped.mutate(**recoded, **constants)


def _checked(
    mapping: Mapping[str, Any], columns: Collection[str]
) -> tuple[list[str], dict[str, str]]:
    """The mapping's drops and renames, once its keys and columns are known."""
    unknown = sorted(set(mapping) - set(MAPPING_KEYS))
    if unknown:
        raise ValueError(
            f"Unknown mapping keys {unknown}; allowed: {list(MAPPING_KEYS)}"
        )
    drop = list(mapping.get("drop", []))
    renames = dict(mapping.get("columns", {}))
    missing = sorted((set(drop) | set(renames)) - set(columns))
    if missing:
        raise ValueError(
            f"Mapping names source columns the table lacks: {missing}; "
            f"it has {sorted(columns)}"
        )
    return drop, renames
