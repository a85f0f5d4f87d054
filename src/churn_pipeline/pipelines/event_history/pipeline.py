"""The event_history pipeline (``__default__``): every stage of an event history."""

from kedro.pipeline import Pipeline

from churn_pipeline.pipelines import (
    daily_scoring,
    data_validation,
    explanation,
    feature_engineering,
    model_evaluation,
    model_registry,
    model_training,
    reporting,
    scoring,
)


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the event_history pipeline.

    Validation, point-in-time features, time-ordered split, training, evaluation,
    registration, explanation, scoring, the report; daily scoring last, with the
    champion the run may just have promoted.
    """
    return (
        data_validation.create_pipeline()
        + feature_engineering.create_pipeline()
        + model_training.create_pipeline()
        + model_evaluation.create_pipeline()
        + model_registry.create_pipeline()
        + explanation.create_pipeline()
        + scoring.create_pipeline()
        + reporting.create_pipeline()
        + daily_scoring.create_pipeline()
    )
