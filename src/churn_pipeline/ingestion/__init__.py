"""Foreign source tables reshaped onto the raw-data contract.

Some exports do not have the contract's shape: subscriptions as periods instead
of change events, usage as one row per feature event instead of one row per
account and day; churn as gaps between periods rather than as events; no ids
or signup dates. This package validates such tables and derives the contract's
tables from them; which columns are which comes from configuration.
"""

from churn_pipeline.ingestion.derived import accounts_from_periods, with_derived_key
from churn_pipeline.ingestion.gaps import CHURN_SOURCES, gap_churn_events
from churn_pipeline.ingestion.periods import account_terms, derive_subscription_events
from churn_pipeline.ingestion.schemas import SOURCE_TABLES, build_source_schema
from churn_pipeline.ingestion.usage import AGGREGATIONS, daily_usage

__all__ = [
    "AGGREGATIONS",
    "CHURN_SOURCES",
    "SOURCE_TABLES",
    "account_terms",
    "accounts_from_periods",
    "build_source_schema",
    "daily_usage",
    "derive_subscription_events",
    "gap_churn_events",
    "with_derived_key",
]
