"""Foreign source tables reshaped onto the raw-data contract.

Some exports do not have the contract's shape: subscriptions as periods instead
of change events, usage as one row per feature event instead of one row per
account and day. This package validates such tables and derives the contract's
tables from them; which columns are which comes from configuration.
"""

from churn_pipeline.ingestion.periods import account_terms, derive_subscription_events
from churn_pipeline.ingestion.schemas import SOURCE_TABLES, build_source_schema
from churn_pipeline.ingestion.usage import AGGREGATIONS, daily_usage

__all__ = [
    "AGGREGATIONS",
    "SOURCE_TABLES",
    "account_terms",
    "build_source_schema",
    "daily_usage",
    "derive_subscription_events",
]
