"""Project pipelines."""

from __future__ import annotations

import logging

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

logger = logging.getLogger(__name__)

# What `kedro run` runs, per kind of input data (parameter `input_kind`).
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
# Set by InputKindHooks once the run's parameters are known; module state because
# Kedro calls register_pipelines() without arguments.
_selected = {"input_kind": DEFAULT_INPUT_KIND}


def select_input_kind(kind: str) -> bool:
    """Choose which pipelines make up ``__default__``.

    Args:
        kind: A key of ``INPUT_KINDS``.

    Returns:
        Whether the choice changed (pipelines built before must be rebuilt).

    Raises:
        ValueError: If ``kind`` is unknown.
    """
    if kind not in INPUT_KINDS:
        raise ValueError(f"Unknown input_kind {kind!r}; allowed: {sorted(INPUT_KINDS)}")
    changed = _selected["input_kind"] != kind
    _selected["input_kind"] = kind
    return changed


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects; ``__default__``
        runs the pipelines of the selected input kind. ``demo_data`` only runs
        when named, since it overwrites data/01_raw.
    """
    pipelines = find_pipelines(raise_errors=True)
    kind = _selected["input_kind"]
    names = INPUT_KINDS[kind]
    # Kedro loads only the requested pipelines when a run names some; then the
    # default one is not needed (nor buildable).
    if all(name in pipelines for name in names):
        logger.info("Input kind %r: default pipeline = %s", kind, names)
        pipelines["__default__"] = sum(
            (pipelines[name] for name in names), start=Pipeline([])
        )
    return pipelines
