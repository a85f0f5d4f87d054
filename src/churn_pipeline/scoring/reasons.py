"""Reason codes: an account's strongest SHAP drivers as plain-language sentences.

Texts come from the feature registry's templates, so the scored list, the API and
the documentation describe a feature the same way. A numeric value is compared
with what a typical retained account shows (the model's ``typical_values_``),
e.g. "3 logins in the last 30 days (typical retained account: 85)".
"""

from __future__ import annotations

import functools
import string
from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from churn_pipeline.features.specs import FEATURES_BY_NAME
from churn_pipeline.models.columns import Columns, column_values, is_missing

Direction = Literal["raising", "lowering"]
DIRECTIONS: tuple[Direction, ...] = ("raising", "lowering")
# Units where "typical retained account: x" adds nothing: a flag is yes/no, and
# a relative change already says what it is compared with.
_NO_COMPARISON = frozenset({"flag", "relative change"})


def change_text(value: float) -> str:
    """A relative change in words: -0.62 -> "down 62 %", 0.15 -> "up 15 %"."""
    percent = round(abs(value) * 100)
    if percent == 0:
        return "unchanged"
    return f"{'down' if value < 0 else 'up'} {percent} %"


# Parsed once per template: every served account's reasons read it.
@functools.cache
def _value_format(template: str) -> str:
    """The format spec a reason template gives ``{value}`` (e.g. ``.0f``)."""
    for _, field, format_spec, _ in string.Formatter().parse(template):
        if field == "value":
            return format_spec or ""
    return ""


def describe(feature: str, value: object, typical: float | None = None) -> str:
    """Plain-language text for one feature value, from the feature registry.

    Args:
        feature: Feature name; columns outside the registry (a customer
            table's) read ``name = value``.
        value: The account's value.
        typical: The value of a typical retained account, added as a comparison
            to numeric features whose unit allows one.

    Returns:
        The sentence, e.g. "no login for 23 days (typical retained account: 1)".
    """
    spec = FEATURES_BY_NAME.get(feature)
    if is_missing(value):
        # The description's first clause: the rest says when it is empty.
        name = spec.description.split(";")[0].rstrip(".") if spec else feature
        return f"{name}: unknown"
    if spec is None:
        return (
            f"{feature} = {value:g}"
            if isinstance(value, float)
            else f"{feature} = {value}"
        )
    change = change_text(float(value)) if spec.kind == "numeric" else ""
    text = spec.reason.format(value=value, change=change)
    if (
        typical is not None
        and not is_missing(typical)
        and spec.kind == "numeric"
        and spec.unit not in _NO_COMPARISON
    ):
        text += f" (typical retained account: {typical:{_value_format(spec.reason)}})"
    return text


def ranked_reasons(
    contributions: pd.DataFrame,
    features: Columns,
    n_reasons: int,
    *,
    direction: Direction = "raising",
    typical: Mapping[str, float] | None = None,
) -> list[list[str]]:
    """The strongest drivers of each account in one direction, as sentences.

    Args:
        contributions: SHAP contributions per feature (rows align with
            ``features``).
        features: The feature values that were explained, rows matched to
            ``contributions`` by position.
        n_reasons: How many drivers to keep per account.
        direction: ``"raising"`` (positive contributions, largest first) or
            ``"lowering"`` (negative, most negative first).
        typical: Feature -> typical retained value, for the comparisons.

    Returns:
        One list of at most ``n_reasons`` texts per account, strongest first;
        a contribution of exactly 0 is never a reason.

    Raises:
        ValueError: If ``direction`` is not one of ``DIRECTIONS``.
    """
    if direction not in DIRECTIONS:
        raise ValueError(
            f"direction must be one of {list(DIRECTIONS)}, got {direction!r}"
        )
    sign = 1.0 if direction == "raising" else -1.0
    values = sign * contributions.to_numpy(dtype=float)
    order = np.argsort(-values, axis=1, kind="stable")[:, :n_reasons]
    columns = list(contributions.columns)
    table = {columns[j]: column_values(features, columns[j]) for j in np.unique(order)}
    typical = typical or {}
    reasons = []
    for row, ranked in enumerate(order):
        texts = [
            describe(columns[j], table[columns[j]][row], typical.get(columns[j]))
            for j in ranked
            if values[row, j] > 0
        ]
        reasons.append(texts)
    return reasons
