"""The churn model: member preprocessing, the calibrated ensemble, explanations."""

from churn_pipeline.models.ensemble import ChurnEnsemble
from churn_pipeline.models.explanation import (
    ChurnExplainer,
    DriverGroups,
    Explanation,
    driver_groups,
)

__all__ = [
    "ChurnEnsemble",
    "ChurnExplainer",
    "DriverGroups",
    "Explanation",
    "driver_groups",
]
