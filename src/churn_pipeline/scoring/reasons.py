"""Reason codes: an account's strongest drivers as plain-language sentences.

Features that carry one signal (logins over 7, 14, 30 and 90 days, their trend and
per-seat ratio) split and cancel each other's SHAP values, so reasons rank named
drivers (:mod:`churn_pipeline.features.specs.drivers`) by their summed
contribution. Each driver reads as its most telling value: the driver's feature
that pushes hardest in the driver's direction and whose value is known, described
by the feature registry's template, so the scored list, the API and the
documentation describe a feature the same way. A numeric value is compared with
what a typical retained account shows (the model's ``typical_values_``), e.g.
"3 logins in the last 30 days (typical retained account: 85)".
"""

from __future__ import annotations

import functools
import string
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from churn_pipeline.features.specs import DEFAULT_CONTEXT_DRIVERS, spec_of
from churn_pipeline.models.columns import Columns, column_values, is_missing, n_rows
from churn_pipeline.models.explanation import DriverGroups, driver_groups

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


@dataclass(frozen=True)
class _Plural:
    """The ``{s}`` of a reason template: a plural ending that agrees with a count.

    ``{s}`` reads "" for one and "s" otherwise; ``{s:retry|retries}`` picks
    between the two words given.
    """

    one: bool

    def __format__(self, spec: str) -> str:
        singular, _, plural = spec.partition("|") if spec else ("", "", "s")
        return singular if self.one else plural


# Parsed once per template: every served account's reasons read it.
@functools.cache
def _value_format(template: str) -> str:
    """The format spec a reason template gives ``{value}`` (e.g. ``.0f``)."""
    for _, field, format_spec, _ in string.Formatter().parse(template):
        if field == "value":
            return format_spec or ""
    return ""


def fill_template(template: str, value: float, currency: str | None = None) -> str:
    """A numeric reason template filled in for one value.

    ``{s}`` agrees with the value as the template writes it, so 1 (or 0.6
    written as "1") reads "1 failed payment" and 2 "2 failed payments";
    ``{currency}`` is the scoring policy's currency after a space, or nothing.

    Args:
        template: The template, e.g. ``"{value:.0f} failed payment{s}"``.
        value: The value.
        currency: ISO 4217 code of money amounts (``scoring.currency``).

    Returns:
        The text.
    """
    written = format(value, _value_format(template))
    return template.format(
        value=value,
        change=change_text(value),
        s=_Plural(written.lstrip("+-") == "1"),
        currency=f" {currency}" if currency else "",
    )


def describe(
    feature: str,
    value: object,
    typical: float | None = None,
    currency: str | None = None,
) -> str:
    """Plain-language text for one feature value, from the feature registry.

    Args:
        feature: Feature name; columns outside the registry (a customer
            table's) read ``name = value``.
        value: The account's value.
        typical: The value of a typical retained account, added as a comparison
            to numeric features whose unit allows one.
        currency: Currency of money amounts ("pays 450 USD per month").

    Returns:
        The sentence, e.g. "no login for 23 days (typical retained account: 1)".
    """
    spec = spec_of(feature)
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
    if spec.kind != "numeric":
        return spec.reason.format(value=value)
    number = float(value)  # type: ignore[arg-type]
    if spec.zero_reason is not None and number == 0.0:
        text = spec.zero_reason
    else:
        text = fill_template(spec.reason, number, currency)
    comparable = spec.unit not in _NO_COMPARISON
    if comparable and typical is not None and not is_missing(typical):
        text += f" (typical retained account: {typical:{_value_format(spec.reason)}})"
    return text


def ranked_reasons(
    contributions: pd.DataFrame,
    features: Columns,
    n_reasons: int,
    *,
    direction: Direction = "raising",
    typical: Mapping[str, float] | None = None,
    context: Collection[str] = DEFAULT_CONTEXT_DRIVERS,
    currency: str | None = None,
) -> list[list[str]]:
    """The strongest drivers of each account in one direction, as sentences.

    Drivers are ranked by their summed contribution; each reads as its most
    telling value (:func:`telling_features`). A driver whose features pushing
    that way are all unknown is skipped, and so is a context driver.

    Args:
        contributions: SHAP contributions per feature (rows align with
            ``features``).
        features: The feature values that were explained, rows matched to
            ``contributions`` by position.
        n_reasons: How many drivers to keep per account.
        direction: ``"raising"`` (positive sums, largest first) or
            ``"lowering"`` (negative, most negative first).
        typical: Feature -> typical retained value, for the comparisons.
        context: Names of drivers that are never reasons (who the customer is:
            ``scoring.context_drivers``).
        currency: Currency of money amounts in the texts (``scoring.currency``).

    Returns:
        One list of at most ``n_reasons`` texts per account, strongest first;
        a driver summing to exactly 0 is never a reason.

    Raises:
        ValueError: If ``direction`` is not one of ``DIRECTIONS``.
    """
    if direction not in DIRECTIONS:
        raise ValueError(
            f"direction must be one of {list(DIRECTIONS)}, got {direction!r}"
        )
    groups = driver_groups(tuple(contributions.columns))
    sign = 1.0 if direction == "raising" else -1.0
    signed = sign * contributions.to_numpy(dtype=float)
    telling = telling_features(signed, features, groups, context=context)
    strength = np.where(telling >= 0, signed @ groups.membership, 0.0)
    strength = np.where(strength > 0.0, strength, -np.inf)
    order = np.argsort(-strength, axis=1, kind="stable")[:, :n_reasons]
    return _texts(
        order, strength, telling, groups.columns, features, typical or {}, currency
    )


def telling_features(
    signed: np.ndarray,
    features: Columns,
    groups: DriverGroups,
    *,
    context: Collection[str] = (),
) -> np.ndarray:
    """Each account's most telling feature per driver, in one direction.

    Args:
        signed: Contributions, ``(accounts, groups.columns)``, signed so that
            positive is the direction asked for.
        features: The explained values (rows by position).
        groups: The drivers of ``groups.columns``.
        context: Drivers to leave out.

    Returns:
        ``(accounts, groups.drivers)``: the column position of the driver's
        feature with the largest positive signed contribution among those whose
        value is known (the first on a tie); -1 where there is none, or for a
        context driver.
    """
    skipped = np.asarray([d.name in context for d in groups.drivers], dtype=bool)
    candidates = np.where(
        (signed > 0.0) & ~skipped[groups.column_driver] & ~_unknown(features, groups),
        signed,
        -np.inf,
    )
    # Per driver at once: each driver's columns are contiguous in by_driver.
    best = np.maximum.reduceat(candidates[:, groups.by_driver], groups.starts, axis=1)
    n_columns = len(groups.columns)
    is_best = np.isfinite(candidates) & (candidates == best[:, groups.column_driver])
    positions = np.where(is_best, np.arange(n_columns), n_columns)
    first = np.minimum.reduceat(positions[:, groups.by_driver], groups.starts, axis=1)
    return np.where(first < n_columns, first, -1)


def _unknown(features: Columns, groups: DriverGroups) -> np.ndarray:
    """Where values are unknown (NaN, None, pandas' NA), ``(rows, columns)``.

    Only columns that may be empty are read: the registry's nullable features
    and columns outside it (serving asks on every request).
    """
    unknown = np.zeros((n_rows(features), len(groups.columns)), dtype=bool)
    for j in _nullable(groups.columns):
        values = column_values(features, groups.columns[j])
        if values.dtype.kind == "f":
            unknown[:, j] = np.isnan(values)
        elif values.dtype.kind not in "biu":  # objects, strings, nullable dtypes
            unknown[:, j] = pd.isna(values)
    return unknown


# Once per feature list (one per model).
@functools.lru_cache(maxsize=16)
def _nullable(columns: tuple[str, ...]) -> tuple[int, ...]:
    """Positions of the columns whose values may be unknown."""
    return tuple(
        j
        for j, column in enumerate(columns)
        if (spec := spec_of(column)) is None or spec.nullable
    )


def _texts(
    order: np.ndarray,
    strength: np.ndarray,
    telling: np.ndarray,
    columns: tuple[str, ...],
    features: Columns,
    typical: Mapping[str, float],
    currency: str | None,
) -> list[list[str]]:
    """The texts of the ranked drivers that qualify (finite strength)."""
    values: dict[str, np.ndarray] = {}
    reasons = []
    for row, ranked in enumerate(order):
        texts = []
        for position in ranked:
            if not np.isfinite(strength[row, position]):
                break  # the rest rank lower: none qualifies
            name = columns[telling[row, position]]
            if name not in values:
                values[name] = column_values(features, name)
            value = values[name][row]
            # Empty where the registry says it cannot be: data outside the
            # contract. Still, "unknown" is never a reason.
            if not is_missing(value):
                texts.append(describe(name, value, typical.get(name), currency))
        reasons.append(texts)
    return reasons
