"""The customer-success playbook: health score, rule triggers and the next action.

Next to the model's probability, a CS team wants the rules it already trusts
("no login for 10 days", "a ticket open for more than 5 days") as flags, and one
action per account with an owner. The action follows the account's dominant
driver: each registry feature belongs to a named driver (logins, payments, nps,
...), the actionable driver whose features add the most SHAP log-odds to the
account's risk dominates, and its theme (usage, payment, sentiment, ...) picks
the action (failed payments lead to payment recovery, a login drop to
re-engagement, ...). Context drivers (``scoring.context_drivers``) and ``profile``
ones (who the customer is) never dominate.
"""

from __future__ import annotations

import logging
import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churn_pipeline.features.specs import (
    DEFAULT_CONTEXT_DRIVERS,
    PROFILE,
    THEMES,
)
from churn_pipeline.models.columns import Columns, column_names, column_values, n_rows
from churn_pipeline.models.explanation import driver_groups

logger = logging.getLogger(__name__)

OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}
# Driver themes that call for an action; ``profile`` (industry, country) does not.
ACTIONABLE_THEMES = tuple(t for t in THEMES if t != PROFILE)
NO_DRIVER = "none"
# Its dominance makes the churn involuntary (billing, not a decision).
PAYMENT_DRIVER = "payments"
# Health score anchors: 100 at probability 0, 70 where the yellow band starts,
# 40 where red starts, 0 at 1; linear in between, so "health below 70" is
# exactly "at risk" and the score is comparable across accounts and runs.
HEALTH_AT_YELLOW = 70.0
HEALTH_AT_RED = 40.0
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|>|<)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Condition:
    """``<feature> <operator> <number>``, e.g. ``days_since_last_login >= 10``."""

    feature: str
    operator: str
    threshold: float

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Read a condition from its text.

        Raises:
            ValueError: If the text is not ``<feature> <operator> <number>`` with
                an operator from ``OPERATORS``.
        """
        match = _CONDITION.match(str(text))
        try:
            threshold = float(match.group(3)) if match else None
        except ValueError:
            threshold = None
        if match is None or threshold is None:
            raise ValueError(
                f"Trigger condition {text!r} must read '<feature> <operator> "
                f"<number>' with an operator in {list(OPERATORS)}"
            )
        return cls(match.group(1), match.group(2), threshold)

    def __str__(self) -> str:
        return f"{self.feature} {self.operator} {self.threshold:g}"

    def holds(self, features: Columns) -> np.ndarray:
        """Row-wise truth; an unknown (empty) value never fires a trigger."""
        values = column_values(features, self.feature)
        if values.dtype.kind in "biuf":  # already numbers: skip the parser
            values = values.astype(float, copy=False)
        else:
            values = np.asarray(pd.to_numeric(values, errors="coerce"), dtype=float)
        with np.errstate(invalid="ignore"):
            result = OPERATORS[self.operator](values, self.threshold)
        return np.asarray(result, dtype=bool) & ~np.isnan(values)


@dataclass(frozen=True)
class Trigger:
    """A named rule that fires when all its conditions hold."""

    name: str
    text: str
    conditions: tuple[Condition, ...]

    @property
    def features(self) -> set[str]:
        """The features its conditions read."""
        return {c.feature for c in self.conditions}

    def fires(self, features: Columns) -> np.ndarray:
        """Row-wise: whether every condition holds."""
        fired = np.ones(n_rows(features), dtype=bool)
        for condition in self.conditions:
            fired &= condition.holds(features)
        return fired


@dataclass(frozen=True)
class Action:
    """What to do and who does it."""

    action: str
    owner: str


@dataclass(frozen=True)
class Playbook:
    """Rule triggers and the action per driver theme (``scoring.playbook``).

    Attributes:
        triggers: Rule triggers shown next to the model score, in name order.
        actions: Theme -> action, for every theme in ``ACTIONABLE_THEMES``.
        default_action: The action when no actionable driver raises the risk.
    """

    triggers: tuple[Trigger, ...]
    actions: Mapping[str, Action]
    default_action: Action

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Playbook:
        """Build the playbook from its parameters (see parameters_scoring.yml).

        Raises:
            ValueError: On a malformed condition, a trigger without conditions, an
                action for an unknown theme, or an actionable theme without one.
        """
        triggers = []
        # In name order: stored model metadata does not keep mapping order.
        for name, spec in sorted((params.get("triggers") or {}).items()):
            conditions = tuple(Condition.parse(text) for text in spec.get("when", []))
            if not conditions:
                raise ValueError(
                    f"Trigger {name!r} needs at least one 'when' condition"
                )
            triggers.append(Trigger(str(name), str(spec["text"]), conditions))
        actions = dict(params.get("actions") or {})
        unknown = sorted(set(actions) - set(ACTIONABLE_THEMES))
        missing = [t for t in ACTIONABLE_THEMES if t not in actions]
        if unknown or missing:
            raise ValueError(
                f"playbook.actions needs exactly the themes {list(ACTIONABLE_THEMES)}"
                f"; unknown: {unknown}, missing: {missing}"
            )
        return cls(
            triggers=tuple(triggers),
            actions={t: Action(**actions[t]) for t in ACTIONABLE_THEMES},
            default_action=Action(**params["default_action"]),
        )

    def to_dict(self) -> dict[str, Any]:
        """The parameters this playbook was built from (round-trips)."""
        return {
            "triggers": {
                t.name: {"text": t.text, "when": [str(c) for c in t.conditions]}
                for t in self.triggers
            },
            "actions": {d: vars(a).copy() for d, a in self.actions.items()},
            "default_action": vars(self.default_action).copy(),
        }

    def applicable_triggers(self, columns: Iterable[str]) -> tuple[Trigger, ...]:
        """The triggers whose features are all among ``columns``."""
        present = set(columns)
        return tuple(t for t in self.triggers if t.features <= present)


def health_score(
    probability: np.ndarray, *, yellow_from: float, red_from: float
) -> np.ndarray:
    """Health 0-100 (100 = healthy) from the calibrated churn probability.

    Piecewise linear through (0, 100), (``yellow_from``, 70), (``red_from``, 40)
    and (1, 0), so the bands and the score agree: health below 70 is yellow,
    below 40 red.
    """
    return np.interp(
        probability,
        [0.0, yellow_from, red_from, 1.0],
        [100.0, HEALTH_AT_YELLOW, HEALTH_AT_RED, 0.0],
    )


def evaluate_triggers(
    playbook: Playbook, features: Columns
) -> tuple[dict[str, np.ndarray], list[list[str]]]:
    """Which triggers fire for each account.

    Triggers that read a feature the table lacks (an absent source table) are
    left out and logged, never silently false.

    Args:
        playbook: The playbook.
        features: One row per account.

    Returns:
        A boolean array ``trigger_<name>`` per applicable trigger (rows as in
        ``features``), and per account the texts of the triggers that fired.
    """
    applicable = playbook.applicable_triggers(column_names(features))
    skipped = sorted({t.name for t in playbook.triggers} - {t.name for t in applicable})
    if skipped:
        logger.info(
            "Triggers left out (their features are not in the data): %s", skipped
        )
    fired = {f"trigger_{t.name}": t.fires(features) for t in applicable}
    texts = [t.text for t in applicable]
    matrix = (
        np.column_stack(list(fired.values()))
        if fired
        else np.zeros((n_rows(features), 0), dtype=bool)
    )
    return fired, [[texts[j] for j in np.flatnonzero(row)] for row in matrix]


def dominant_drivers(
    contributions: pd.DataFrame,
    context: Collection[str] = DEFAULT_CONTEXT_DRIVERS,
) -> np.ndarray:
    """Each account's actionable driver with the largest risk-raising SHAP sum.

    A driver's sum adds its features' contributions, both signs: features that
    carry one signal cancel where they disagree.

    Args:
        contributions: SHAP contributions per feature, one row per account.
        context: Drivers that never dominate, next to every ``profile`` one.

    Returns:
        The driver name per account, ``"none"`` when no actionable driver adds
        risk.
    """
    groups = driver_groups(tuple(contributions.columns))
    actionable = np.asarray(
        [d.theme != PROFILE and d.name not in context for d in groups.drivers],
        dtype=bool,
    )
    sums = contributions.to_numpy(dtype=float) @ groups.membership
    sums = np.where(actionable, sums, -np.inf)
    if not actionable.any():  # e.g. a customer table: profile columns only
        return np.full(len(sums), NO_DRIVER, dtype=object)
    best = np.argmax(sums, axis=1)
    raises = sums[np.arange(len(sums)), best] > 0.0
    return np.where(raises, np.asarray(groups.names, dtype=object)[best], NO_DRIVER)


def recommend(
    playbook: Playbook,
    contributions: pd.DataFrame,
    context: Collection[str] = DEFAULT_CONTEXT_DRIVERS,
) -> dict[str, np.ndarray]:
    """Dominant driver, likely churn type, recommended action and its owner.

    Args:
        playbook: The playbook.
        contributions: SHAP contributions per feature, one row per account.
        context: Drivers that never dominate (``scoring.context_drivers``).

    Returns:
        Arrays ``dominant_driver``, ``likely_churn_type`` (``involuntary`` when
        the payments driver dominates, else ``voluntary``),
        ``recommended_action`` (the action of the dominant driver's theme) and
        ``owner_role``, one value per account.
    """
    drivers = dominant_drivers(contributions, context)
    # A dominant driver is one of the columns' (a configured usage column's
    # driver is in no fixed registry): its theme comes from their groups.
    themes = {
        d.name: d.theme for d in driver_groups(tuple(contributions.columns)).drivers
    }
    chosen = [
        playbook.actions[themes[d]] if d != NO_DRIVER else playbook.default_action
        for d in drivers
    ]
    return {
        "dominant_driver": drivers,
        "likely_churn_type": np.where(
            drivers == PAYMENT_DRIVER, "involuntary", "voluntary"
        ).astype(object),
        "recommended_action": np.asarray([a.action for a in chosen], dtype=object),
        "owner_role": np.asarray([a.owner for a in chosen], dtype=object),
    }
