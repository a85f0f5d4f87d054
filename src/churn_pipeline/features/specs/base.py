"""The feature spec, the vocabulary the specs share and their builders.

The groups of specs (:mod:`.account`, :mod:`.usage`, :mod:`.tickets`,
:mod:`.billing`, :mod:`.nps`) build on this module; :mod:`churn_pipeline.features.specs`
assembles them into the registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from churn_pipeline.features.specs.drivers import DRIVERS_BY_NAME


@dataclass(frozen=True)
class FeatureSpec:
    """Describes one model feature.

    Attributes:
        name: Column name in the model input table.
        description: Plain-language meaning, used in docs and the API schema.
        kind: ``numeric`` or ``categorical``.
        unit: Unit of a numeric value (``days``, ``count``, ``USD``, ...).
        source: Raw table it is computed from.
        window: Look-back window, if any (e.g. ``30d``).
        reason: Template for a reason text; ``{value}`` is the account's value,
            ``{change}`` reads a relative change as "down 62 %", and ``{s}``
            (or ``{s:retry|retries}``) is the plural ending, empty when the
            value reads 1 (``{value:.0f} failed payment{s}``).
        example: A realistic value, used for API examples.
        minimum: Smallest valid value of a numeric feature (``None``: unbounded).
        maximum: Largest valid value of a numeric feature (``None``: unbounded).
        nullable: Whether the value may be unknown (e.g. no NPS answer yet).
        requires: Columns of the source table it needs beyond the contract's
            fixed ones (e.g. the usage count ``logins``); without them the
            feature is left out.
        zero_reason: Reason text when the value is 0, if the template reads
            badly there ("no support ticket open", a flag that is off).
        driver: Name of its :class:`Driver`: one of ``DRIVERS_BY_NAME``, or for
            a configured usage column's feature the column itself (its own
            driver, :mod:`.configured`). The features explained, ranked and
            acted on together.
    """

    name: str
    description: str
    kind: Literal["numeric", "categorical"]
    unit: str
    source: str
    window: str | None
    reason: str
    example: float | str
    minimum: float | None = 0.0
    maximum: float | None = None
    nullable: bool = False
    requires: tuple[str, ...] = ()
    zero_reason: str | None = None
    driver: str = field(kw_only=True)

    def __post_init__(self) -> None:
        own_column = self.source == "usage" and self.requires == (self.driver,)
        if self.driver not in DRIVERS_BY_NAME and not own_column:
            raise ValueError(
                f"Feature {self.name!r}: driver must be one of "
                f"{list(DRIVERS_BY_NAME)} or the usage column it requires, got "
                f"{self.driver!r}"
            )


# Look-back windows (days) of the windowed counts.
USAGE_WINDOWS = (7, 14, 30, 90)
TICKET_WINDOWS = (7, 10, 30, 90)
# Key features of the contract's usage table that get their own counts (each
# needs its column); ``feature_engineering.key_feature_columns`` sets which
# columns the summed key-feature counts add up.
KEY_FEATURES = ("reports", "dashboards", "integrations", "automations")
# Mean length of a Gregorian month, for tenure in months.
DAYS_PER_MONTH = 30.4375


def numeric(
    name: str,
    description: str,
    unit: str,
    source: str,
    window: str | None,
    reason: str,
    example: float,
    **options: object,
) -> FeatureSpec:
    """A numeric feature; ``options`` are the optional :class:`FeatureSpec` fields."""
    return FeatureSpec(
        name, description, "numeric", unit, source, window, reason, example, **options
    )


def categorical(
    name: str,
    description: str,
    source: str,
    reason: str,
    example: str,
    *,
    driver: str,
) -> FeatureSpec:
    """A categorical feature: no unit, no window."""
    return FeatureSpec(
        name,
        description,
        "categorical",
        "",
        source,
        None,
        reason,
        example,
        driver=driver,
    )


def windowed(
    stem: str,
    what: str,
    reason: str,
    windows: tuple[int, ...],
    examples: tuple[float, ...],
    source: str,
    **options: object,
) -> tuple[FeatureSpec, ...]:
    """One count feature per look-back window: ``<stem>_<days>d``.

    ``{days}`` in ``reason`` and in a ``zero_reason`` option is the window.
    """
    zero_reason = options.pop("zero_reason", None)
    return tuple(
        numeric(
            f"{stem}_{days}d",
            f"{what} in the {days} days up to the as-of date.",
            "count",
            source,
            f"{days}d",
            reason.replace("{days}", str(days)),
            example,
            zero_reason=(
                None
                if zero_reason is None
                else str(zero_reason).replace("{days}", str(days))
            ),
            **options,
        )
        for days, example in zip(windows, examples, strict=True)
    )
