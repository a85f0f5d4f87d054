"""The churn model: member preprocessing, the calibrated ensemble, explanations."""

from churn_pipeline.models.ensemble import ChurnEnsemble, Explanation

__all__ = ["ChurnEnsemble", "Explanation"]
