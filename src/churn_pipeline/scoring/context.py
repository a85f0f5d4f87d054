"""What a CS manager reads next to a score: account context and a warranted action.

The scored list and the API answer carry the same context, through
:func:`churn_pipeline.scoring.accounts.score_columns`:

* **Account context** (``scoring.account_context``): who the account is and what
  it pays, copied from the scored features under fixed names (``plan``, ``mrr``,
  ``seats``, ``tenure_months`` and, when the data has one, ``account_owner``), so
  a customer table whose columns are named otherwise (Telco's
  ``MonthlyCharges``) fills the same columns.
* **Whole-number health**: rounded up once, here, so the integer agrees with the
  band (green 71-100, yellow 41-70, red 0-40).
* **Actions only where warranted**: an account the policy does not target is
  given the playbook's default action ("monitor") unless its band is one of
  ``scoring.untargeted_action_bands`` (default: red, where the driver's action
  still says what would help even when a paid contact does not pay).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from churn_pipeline.models.columns import Columns, column_names, column_values
from churn_pipeline.scoring.playbook import HEALTH_AT_RED, HEALTH_AT_YELLOW, Action

logger = logging.getLogger(__name__)

# The list's context columns (and the API answer's fields), in the list's order.
CONTEXT_FIELDS = ("account_owner", "plan", "mrr", "seats", "tenure_months")
# Context shown as whole numbers (rounded down: 11.9 months is 11 whole months).
WHOLE_NUMBER_FIELDS = frozenset({"seats", "tenure_months"})
TEXT_FIELDS = frozenset({"account_owner", "plan"})
# The demo data's (and the event-history contract's) feature names; no owner.
DEFAULT_ACCOUNT_CONTEXT: dict[str, str | None] = {
    "account_owner": None,
    "plan": "plan",
    "mrr": "mrr",
    "seats": "seats",
    "tenure_months": "tenure_months",
}
DEFAULT_UNTARGETED_ACTION_BANDS = ("red",)


def context_mapping(mapping: Mapping[str, Any] | None) -> dict[str, str | None]:
    """The full context mapping: ``mapping`` over the defaults.

    Args:
        mapping: List field -> feature column (``None``: not in the data), as
            in ``scoring.account_context``; fields it leaves out keep their
            default.

    Returns:
        One entry per field of ``CONTEXT_FIELDS``, in that order.

    Raises:
        ValueError: If ``mapping`` names a field outside ``CONTEXT_FIELDS`` or
            maps one to anything but a non-empty column name or None.
    """
    given = dict(mapping or {})
    unknown = sorted(set(given) - set(CONTEXT_FIELDS))
    if unknown:
        raise ValueError(
            f"scoring.account_context: unknown fields {unknown}; the list's "
            f"context fields are {list(CONTEXT_FIELDS)}"
        )
    bad = {k: v for k, v in given.items() if v is not None and not str(v).strip()}
    if bad:
        raise ValueError(
            "scoring.account_context maps each field to a column name or null; "
            f"empty for {sorted(bad)}"
        )
    merged = {**DEFAULT_ACCOUNT_CONTEXT, **given}
    return {f: None if merged[f] is None else str(merged[f]) for f in CONTEXT_FIELDS}


def account_context(
    features: Columns, mapping: Mapping[str, str | None]
) -> dict[str, np.ndarray]:
    """The context columns the features have, under their list names.

    Args:
        features: One row per account.
        mapping: :func:`context_mapping` output.

    Returns:
        List field -> values, in ``CONTEXT_FIELDS`` order, for every field
        whose column is in ``features``: text as objects (missing: None),
        ``mrr`` as floats, seats and tenure as Python ints (missing: None, so
        the API answers null).
    """
    present = set(column_names(features))
    context: dict[str, np.ndarray] = {}
    for field, column in mapping.items():
        if column is None or column not in present:
            continue
        values = column_values(features, column)
        if field in TEXT_FIELDS:
            context[field] = np.asarray(
                [None if _missing(v) else str(v) for v in values], dtype=object
            )
        elif field in WHOLE_NUMBER_FIELDS:
            numbers = np.asarray(values, dtype=float)
            context[field] = np.asarray(
                [None if np.isnan(v) else int(np.floor(v)) for v in numbers],
                dtype=object,
            )
        else:
            context[field] = np.asarray(values, dtype=float)
    return context


def missing_context(features: Columns, mapping: Mapping[str, str | None]) -> list[str]:
    """``field <- column`` for every mapped column the features lack."""
    present = set(column_names(features))
    return [
        f"{field} <- {column}"
        for field, column in mapping.items()
        if column is not None and column not in present
    ]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def whole_health(health: np.ndarray, band: np.ndarray) -> np.ndarray:
    """Health 0-100 as whole numbers that agree with the band.

    Rounded up, so a health just above 70 (green) reads 71 and 70 itself
    (where yellow starts) reads 70; then held inside the band's range, so a
    probability a rounding error away from a cut-off cannot put the number
    in the neighbouring band.

    Args:
        health: Health scores (:func:`~churn_pipeline.scoring.playbook.health_score`).
        band: The risk band per account.

    Returns:
        Integers: green 71-100, yellow 41-70, red 0-40.
    """
    whole = np.ceil(np.asarray(health, dtype=float))
    yellow, red = int(HEALTH_AT_YELLOW), int(HEALTH_AT_RED)
    low = np.select([band == "green", band == "yellow"], [yellow + 1, red + 1], 0)
    high = np.select([band == "green", band == "yellow"], [100, yellow], red)
    return np.clip(whole, low, high).astype(np.int64)


def warranted_actions(
    actions: Mapping[str, np.ndarray],
    *,
    contact: np.ndarray,
    band: np.ndarray,
    default: Action,
    act_bands: Sequence[str],
) -> dict[str, np.ndarray]:
    """Keep the driver's action only where the policy acts on the account.

    Args:
        actions: ``recommend`` output (``recommended_action``, ``owner_role``,
            ``dominant_driver``, ``likely_churn_type``).
        contact: Whether contacting each account pays.
        band: The risk band per account.
        default: The playbook's default action (monitor).
        act_bands: Bands whose untargeted accounts keep the driver's action.

    Returns:
        ``actions`` with ``recommended_action`` and ``owner_role`` replaced by
        the default for untargeted accounts outside ``act_bands``; the driver
        and churn type stay, so the list still says what to watch.
    """
    idle = ~np.asarray(contact, dtype=bool) & ~np.isin(band, list(act_bands))
    return {
        **actions,
        "recommended_action": np.where(
            idle, default.action, actions["recommended_action"]
        ).astype(object),
        "owner_role": np.where(idle, default.owner, actions["owner_role"]).astype(
            object
        ),
    }
