"""Relations between features that hold by how the features are built.

A feature vector built by :mod:`churn_pipeline.features.build` from data that
keeps the data contract satisfies every rule here: a shorter window never
counts more than a longer one, a failed payment in the last 30 days makes the
last failure less than 30 days old, a flag agrees with the count it flags, and
so on. A vector that breaks one describes no account that can exist (say 40
logins in 14 days but 6 in 30), and a model scores it without complaint, so the
API refuses it. ``tests/features/test_consistency.py`` builds the features of a
generated business and checks every rule on every row, so a rule that does not
hold by construction fails there.

The features of configured usage columns (``<column>_<days>d``, ...) get the
same window-order rules, plus recency and age rules, built from their names
when a model has them (:func:`rules_for`).

Each rule names its fields in a template (``{logins_14d} must not exceed
{logins_30d}``): the same text documents the rule and, with the values filled
in, reports a vector that breaks it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from string import Formatter
from typing import Any

from churn_pipeline.features.nps import DETRACTOR_BELOW
from churn_pipeline.features.specs import (
    DAYS_PER_MONTH,
    FEATURES,
    USAGE_WINDOWS,
    FeatureSpec,
    configured_usage_specs,
    usage_columns_of,
)
from churn_pipeline.features.tickets import BURST_TICKETS, OPEN_TOO_LONG_DAYS

Values = Mapping[str, Any]
# Accounts are in their first 90 days while tenure is below this.
FIRST_DAYS = 90
# Units of windowed features that only grow as the window grows (sums of
# non-negative counts, numbers of active days).
_ADDITIVE_UNITS = frozenset({"count", "days"})
_WINDOWED = re.compile(r"(?P<stem>.+)_(?P<days>\d+)d")
# Dates of these records are on or after signup (the data contract), so their
# ages never exceed the tenure.
_AGES = (
    "days_since_plan_change",
    "days_since_last_login",
    "oldest_open_ticket_days",
    "days_since_failed_payment",
    "days_since_nps",
)


@dataclass(frozen=True)
class Rule:
    """One relation between features.

    Attributes:
        template: The rule in words, each feature as ``{name}``.
        holds: Whether the values (by feature name, ``None`` when unknown)
            satisfy it; called only with every field of the rule present.
        fields: The features the template names, in order.
    """

    template: str
    holds: Callable[[Values], bool] = field(compare=False)
    fields: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        names = [name for _, name, _, _ in Formatter().parse(self.template) if name]
        object.__setattr__(self, "fields", tuple(dict.fromkeys(names)))

    def describe(self) -> str:
        """The rule in words, e.g. ``logins_14d must not exceed logins_30d``."""
        return self.template.format(**{name: name for name in self.fields})

    def violation(self, values: Values) -> str | None:
        """``None`` if ``values`` satisfy the rule, else what is wrong.

        Returns:
            The rule with each field's value after its name, e.g.
            ``logins_14d (40) must not exceed logins_30d (6)``.
        """
        if self.holds(values):
            return None
        return self.template.format(**_shown(self, values))


def _shown(rule: Rule, values: Values) -> dict[str, str]:
    return {name: f"{name} ({_show(values[name])})" for name in rule.fields}


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _not_above(low: str, high: str) -> Rule:
    def holds(v: Values) -> bool:
        smaller, larger = v[low], v[high]
        return smaller is None or larger is None or smaller <= larger

    return Rule(f"{{{low}}} must not exceed {{{high}}}", holds)


def window_pairs(features: Iterable[FeatureSpec] = FEATURES) -> list[tuple[str, str]]:
    """Each windowed count and the next longer window of the same count.

    From the registry: features named ``<stem>_<days>d`` whose window is
    ``<days>d`` and whose unit is a count or days, for every stem with more
    than one window (``logins_7d`` and ``logins_14d``, ...).
    """
    windows: dict[str, list[tuple[int, str]]] = {}
    for spec in features:
        match = _WINDOWED.fullmatch(spec.name)
        if (
            match
            and spec.unit in _ADDITIVE_UNITS
            and spec.window == f"{match['days']}d"
        ):
            windows.setdefault(match["stem"], []).append(
                (int(match["days"]), spec.name)
            )
    pairs = []
    for found in windows.values():
        names = [name for _, name in sorted(found)]
        pairs.extend(pairwise(names))
    return pairs


def windows_of(stem: str, features: Iterable[FeatureSpec] = FEATURES) -> list[int]:
    """The look-back windows (days) of the registry's ``<stem>_<days>d`` features."""
    found = (_WINDOWED.fullmatch(spec.name) for spec in features)
    return sorted(int(m["days"]) for m in found if m and m["stem"] == stem)


def _exactly_when(
    template: str,
    left: str,
    is_left: Callable[[Any], bool],
    right: str,
    is_right: Callable[[Any], bool],
) -> Rule:
    """``left`` meets ``is_left`` exactly when ``right`` meets ``is_right``.

    An unknown ``left`` is not checked; ``is_right`` must handle ``None``.
    """
    return Rule(
        template,
        lambda v: v[left] is None or is_left(v[left]) == is_right(v[right]),
    )


def _flag(name: str) -> Rule:
    return Rule(
        f"{{{name}}} must be 0 or 1",
        lambda v: v[name] is None or v[name] in (0, 1),
    )


def _failure_rules() -> list[Rule]:
    """A failure in the window exactly when the last one is younger than it."""
    return [
        _exactly_when(
            f"{{failed_payments_{d}d}} must be at least 1 exactly when "
            f"{{days_since_failed_payment}} is below {d}",
            f"failed_payments_{d}d",
            lambda count: count >= 1,
            "days_since_failed_payment",
            lambda days, d=d: days is not None and days < d,
        )
        for d in windows_of("failed_payments")
    ]


def _activity_rules() -> list[Rule]:
    """An active day in the window puts the last one inside it.

    Not the other way round: without any activity on record the recency counts
    from signup (or the start of usage history), so a new account that never
    logged in has no active day and a small recency.
    """
    return [
        Rule(
            f"{{days_since_last_login}} must be below {d} when {{active_days_{d}d}} "
            "is at least 1",
            lambda v, d=d: (
                v[f"active_days_{d}d"] is None
                or v[f"active_days_{d}d"] < 1
                or (
                    v["days_since_last_login"] is not None
                    and v["days_since_last_login"] < d
                )
            ),
        )
        for d in windows_of("active_days")
    ] + [
        _exactly_when(
            "{distinct_key_features_30d} must be 0 exactly when "
            "{key_feature_uses_30d} is 0",
            "distinct_key_features_30d",
            lambda count: count == 0,
            "key_feature_uses_30d",
            lambda uses: uses == 0,
        ),
        _not_above("onboarding_features_30d", "onboarding_features_90d"),
    ]


def _ticket_rules() -> list[Rule]:
    return [
        _not_above("tickets_open_over_5d", "tickets_open"),
        # "Over 5 days" counts tickets opened 5 or more calendar days before
        # the as-of day (open for more than 5 days at its end).
        _exactly_when(
            f"{{tickets_open_over_5d}} must be at least 1 exactly when "
            f"{{oldest_open_ticket_days}} is at least {OPEN_TOO_LONG_DAYS}",
            "tickets_open_over_5d",
            lambda count: count >= 1,
            "oldest_open_ticket_days",
            lambda days: days is not None and days >= OPEN_TOO_LONG_DAYS,
        ),
        Rule(
            "{oldest_open_ticket_days} must be 0 when {tickets_open} is 0",
            lambda v: v["tickets_open"] != 0 or v["oldest_open_ticket_days"] == 0,
        ),
        _exactly_when(
            f"{{ticket_burst_7d}} must be 1 exactly when {{tickets_7d}} is at "
            f"least {BURST_TICKETS}",
            "ticket_burst_7d",
            lambda flag: flag == 1,
            "tickets_7d",
            lambda count: count is not None and count >= BURST_TICKETS,
        ),
        Rule(
            "{high_priority_share_90d} must be 0 when {tickets_90d} is 0",
            lambda v: v["tickets_90d"] != 0 or v["high_priority_share_90d"] == 0,
        ),
    ]


def _nps_rules() -> list[Rule]:
    return [
        _exactly_when(
            f"{{nps_detractor}} must be 1 exactly when {{last_nps}} is below "
            f"{DETRACTOR_BELOW}",
            "nps_detractor",
            lambda flag: flag == 1,
            "last_nps",
            lambda score: score is not None and score < DETRACTOR_BELOW,
        ),
        Rule(
            "{days_since_nps} must be null exactly when {last_nps} is null",
            lambda v: (v["days_since_nps"] is None) == (v["last_nps"] is None),
        ),
        Rule(
            "{nps_change} must be null when {last_nps} is null",
            lambda v: v["last_nps"] is not None or v["nps_change"] is None,
        ),
        # Scores are 0-10, so the change from the score before is bounded by
        # the last score: last - 10 <= change <= last.
        Rule(
            "{nps_change} must be between {last_nps} - 10 and the last score",
            lambda v: (
                v["nps_change"] is None
                or v["last_nps"] is None
                or v["last_nps"] - 10 <= v["nps_change"] <= v["last_nps"]
            ),
        ),
    ]


def _tenure_rules() -> list[Rule]:
    return [
        Rule(
            f"{{tenure_months}} must be {{tenure_days}} / {DAYS_PER_MONTH} "
            "rounded down",
            lambda v: (
                v["tenure_months"] is None
                or v["tenure_days"] is None
                or v["tenure_months"] == math.floor(v["tenure_days"] / DAYS_PER_MONTH)
            ),
        ),
        _exactly_when(
            f"{{in_first_90_days}} must be 1 exactly when {{tenure_days}} is below "
            f"{FIRST_DAYS}",
            "in_first_90_days",
            lambda flag: flag == 1,
            "tenure_days",
            lambda days: days is not None and days < FIRST_DAYS,
        ),
        *(_not_above(age, "tenure_days") for age in _AGES),
    ]


def all_rules() -> tuple[Rule, ...]:
    """Every rule, over every registry feature."""
    return (
        *(_not_above(short, long) for short, long in window_pairs()),
        *(_flag(spec.name) for spec in FEATURES if spec.unit == "flag"),
        *_tenure_rules(),
        *_activity_rules(),
        *_ticket_rules(),
        *_failure_rules(),
        *_nps_rules(),
    )


RULES: tuple[Rule, ...] = all_rules()


def configured_rules(columns: Collection[str]) -> tuple[Rule, ...]:
    """The rules of configured usage columns' features.

    Per column: a shorter window never sums more than a longer one; a positive
    sum in a window puts the last positive day inside it (not the other way
    round: without any, recency counts from signup); and that day is never
    before signup.
    """
    specs = configured_usage_specs(columns)
    return (
        *(_not_above(short, long) for short, long in window_pairs(specs)),
        *(
            Rule(
                f"{{days_since_{c}}} must be below {d} when {{{c}_{d}d}} is above 0",
                lambda v, c=c, d=d: (
                    v[f"{c}_{d}d"] is None
                    or v[f"{c}_{d}d"] <= 0
                    or (v[f"days_since_{c}"] is not None and v[f"days_since_{c}"] < d)
                ),
            )
            for c in dict.fromkeys(spec.requires[0] for spec in specs)
            for d in USAGE_WINDOWS
        ),
        *(
            _not_above(f"days_since_{c}", "tenure_days")
            for c in dict.fromkeys(spec.requires[0] for spec in specs)
        ),
    )


def rules_for(features: Collection[str]) -> tuple[Rule, ...]:
    """The rules whose features are all among ``features`` (the model's).

    The registry's, and those of the configured usage columns whose features
    ``features`` holds.
    """
    present = set(features)
    extra = configured_rules(usage_columns_of(features))
    return tuple(rule for rule in (*RULES, *extra) if set(rule.fields) <= present)


def violations(values: Values, rules: Iterable[Rule] = RULES) -> list[str]:
    """What ``values`` break, one text per broken rule.

    Args:
        values: Feature values by name (``None`` when unknown).
        rules: The rules to check; one naming a feature ``values`` lacks is
            skipped.

    Returns:
        The broken rules with the values filled in, in rule order.
    """
    # Checked for every account of every request: a plain loop is the fastest.
    found = []
    for rule in rules:
        for name in rule.fields:
            if name not in values:
                break
        else:
            if not rule.holds(values):
                found.append(rule.template.format(**_shown(rule, values)))
    return found
