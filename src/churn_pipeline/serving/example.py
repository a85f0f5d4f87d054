"""The example request of the API docs: two real accounts of a seeded demo business.

``serving/example_request.json`` is written by ``python -m
churn_pipeline.serving.metadata``: the seeded demo business of
:data:`EXAMPLE_BUSINESS` is generated, its features are built with the
pipeline's own code (:func:`churn_pipeline.features.build.model_input`) at its
newest as-of date, and two accounts are picked by a rule anyone can check
without a model (:func:`pick_accounts`):

* the *at-risk* account shows the most warning signs of :data:`WARNING_SIGNS`
  (ties: fewer active days in the last 30, then the smaller id);
* the *healthy* account shows none and is past its first 90 days, with the
  most active days in the last 30 (ties: more key-feature uses, then the
  smaller id).

So the example is a vector the feature code can produce: it keeps every
consistency rule (:mod:`churn_pipeline.features.consistency`), and its answer
is a real account's.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from churn_pipeline.demo_data import DemoDataConfig, generate_demo_data
from churn_pipeline.features import engine
from churn_pipeline.features.build import TABLES, placed_model_input
from churn_pipeline.features.pit import KEYS
from churn_pipeline.features.specs import FEATURES, KEY_FEATURES

logger = logging.getLogger(__name__)

# Built in seconds, a year long (every window fits), and large enough to hold
# an account showing three warning signs at once.
EXAMPLE_BUSINESS = DemoDataConfig(
    n_accounts=1000, start_date="2024-01-01", end_date="2024-12-31", seed=42
)
# The key features of conf/base (feature_engineering.key_feature_columns).
KEY_COLUMNS = tuple(f"uses_{feature}" for feature in KEY_FEATURES)
# Playbook-style warning signs (docs/serving.md), each read from one feature.
WARNING_SIGNS: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "no login for 10 days or more": lambda a: a["days_since_last_login"] >= 10,
    "a ticket open for more than 5 days": lambda a: a["tickets_open_over_5d"] >= 1,
    "3 or more tickets in 7 days": lambda a: a["ticket_burst_7d"] == 1,
    "NPS detractor": lambda a: a["nps_detractor"] == 1,
    "a failed payment in 30 days": lambda a: a["failed_payments_30d"] >= 1,
    "logins down by half or more": lambda a: _below(a["logins_trend_30d"], -0.5),
    "in its first 90 days": lambda a: a["in_first_90_days"] == 1,
}


def _below(value: float | None, limit: float) -> bool:
    return value is not None and value <= limit


def example_features(config: DemoDataConfig = EXAMPLE_BUSINESS) -> pd.DataFrame:
    """Every account's features at the newest as-of date of a demo business.

    Args:
        config: The seeded demo business.

    Returns:
        One row per active account: ``account_id`` and the registry features,
        ordered by id.
    """
    raw = generate_demo_data(config)
    tables = {name: engine.table(raw[name]) for name in TABLES}
    con = engine.connect("duckdb", {"threads": 1})
    expr = placed_model_input(
        con,
        tables,
        horizon_days=30,
        key_columns=KEY_COLUMNS,
        min_history_days=60,
        max_snapshots=1,
    )
    frame = engine.execute(con, expr, KEYS)
    return frame[["account_id", *(spec.name for spec in FEATURES)]]


def _record(row: Mapping[str, Any]) -> dict[str, Any]:
    """A request record: numbers as floats, unknown values as null."""
    record: dict[str, Any] = {"account_id": str(row["account_id"])}
    for spec in FEATURES:
        value = row[spec.name]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            record[spec.name] = None
        elif spec.kind == "numeric":
            record[spec.name] = float(value)
        else:
            record[spec.name] = str(value)
    return record


def warning_signs(account: Mapping[str, Any]) -> list[str]:
    """The warning signs of :data:`WARNING_SIGNS` an account shows."""
    return [sign for sign, shows in WARNING_SIGNS.items() if shows(account)]


def pick_accounts(records: list[dict[str, Any]]) -> tuple[dict, dict]:
    """The healthy and the at-risk example account (see the module docstring).

    Raises:
        ValueError: If no account shows a warning sign or none shows none.
    """
    ordered = sorted(records, key=lambda r: r["account_id"])
    signs = {r["account_id"]: len(warning_signs(r)) for r in ordered}
    healthy = [r for r in ordered if signs[r["account_id"]] == 0]
    if not healthy or max(signs.values()) == 0:
        raise ValueError(
            f"Example business {EXAMPLE_BUSINESS}: need accounts with and without "
            f"warning signs, found sign counts {sorted(set(signs.values()))}"
        )
    at_risk = min(
        ordered, key=lambda r: (-signs[r["account_id"]], r["active_days_30d"])
    )
    best = max(r["active_days_30d"] for r in healthy)
    most_active = [r for r in healthy if r["active_days_30d"] == best]
    uses = max(r["key_feature_uses_30d"] for r in most_active)
    chosen = next(r for r in most_active if r["key_feature_uses_30d"] == uses)
    return chosen, at_risk


def build_example_request(
    config: DemoDataConfig = EXAMPLE_BUSINESS,
) -> dict[str, list[dict[str, Any]]]:
    """The example request body: the healthy account, then the at-risk one."""
    frame = example_features(config)
    records = [_record(row) for row in frame.to_dict(orient="records")]
    healthy, at_risk = pick_accounts(records)
    logger.info(
        "Example accounts of the demo business (seed %d) at its newest as-of "
        "date: healthy %s, at risk %s (%s)",
        config.seed,
        healthy["account_id"],
        at_risk["account_id"],
        ", ".join(warning_signs(at_risk)),
    )
    return {"accounts": [healthy, at_risk]}
