"""churn_pipeline: point-in-time SaaS churn prediction with profit-aware evaluation."""

__version__ = "0.1.0"
