"""The feature_engineering parameters the pipeline tests run with."""

from __future__ import annotations

from typing import Any


def feature_params(observation_end: str = "2024-03-15") -> dict[str, Any]:
    """Three monthly as-of dates up to ``observation_end`` on the tiny raw tables."""
    return {
        "horizon_days": 28,
        "observation_end": observation_end,
        "min_history_days": 0,
        "max_snapshots": 3,
        "key_feature_columns": [
            "uses_reports",
            "uses_dashboards",
            "uses_integrations",
            "uses_automations",
        ],
    }
