"""The subscription_periods pipeline: ingestion, then the event_history pipeline."""

from kedro.pipeline import Pipeline

from churn_pipeline.pipelines import event_history, ingestion


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the subscription_periods pipeline.

    Subscription periods, churn events and usage events are validated and
    reshaped onto the contract's tables, which then run as an event history.
    """
    return ingestion.create_pipeline() + event_history.create_pipeline()
