"""Project pipelines: one per stage, plus one per kind of input data."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# The stages each kind of input data runs (parameter `input_kind`), in order. Each
# kind is a pipeline package of its own (pipelines/<kind>), so `kedro run
# --pipelines <kind>` loads only what it runs.
_EVENT_HISTORY = (
    "data_validation",
    "feature_engineering",
    "model_training",
    "model_evaluation",
    "model_registry",
    "explanation",
    "scoring",
    "reporting",
    # Last: scores with the champion the run may just have promoted.
    "daily_scoring",
)
INPUT_KINDS: dict[str, tuple[str, ...]] = {
    # Raw event tables: validate, point-in-time features, time-ordered split.
    "event_history": _EVENT_HISTORY,
    # Subscription periods, churn events and usage events: reshaped onto the
    # contract's tables first, then as event_history.
    "subscription_periods": ("ingestion", *_EVENT_HISTORY),
    # One row per customer with a label: cross-validated, no time axis.
    "customer_table": ("customer_table", "model_registry", "explanation", "scoring"),
}
DEFAULT_INPUT_KIND = "event_history"


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        Every pipeline package by name; ``__default__`` is ``event_history``.
        ``demo_data`` only runs when named, since it overwrites data/01_raw.
    """
    pipelines = find_pipelines(raise_errors=True)
    # `kedro run --pipelines <name>` has Kedro load only the named packages; the
    # default is there whenever all are loaded.
    if DEFAULT_INPUT_KIND in pipelines:
        pipelines["__default__"] = pipelines[DEFAULT_INPUT_KIND]
    return pipelines
