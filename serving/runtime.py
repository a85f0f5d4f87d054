"""The BentoML service configuration both served services take from the environment.

``@bentoml.service`` options are fixed at import, so they come from environment
variables read here, once, for ``serving.service`` and the benchmark's no-op
service alike (the floor must run the same server configuration).

Tracing: BentoML wraps every request in an OpenTelemetry span, exporter or not.
With no exporter configured (the default) nobody reads those spans, yet on the
benchmark machine they were the largest part of the HTTP cost of a ``/predict``
call: the no-op service's p99 at concurrency 8 fell from 13.6 to 8.9 ms with
``/predict`` excluded. So ``/predict`` is excluded unless ``CHURN_TRACE_PREDICT=1``,
which anyone who configures a tracing exporter for BentoML should set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

WORKERS_ENV = "CHURN_WORKERS"
TRACE_PREDICT_ENV = "CHURN_TRACE_PREDICT"
PREDICT_ROUTE = "/predict"
REQUEST_TIMEOUT_S = 60
_SWITCH_VALUES = {"0": False, "false": False, "1": True, "true": True}


def service_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments of ``@bentoml.service`` from environment variables.

    Args:
        environ: The environment, usually ``os.environ``.

    Returns:
        ``traffic`` (the request timeout), ``workers`` (``CHURN_WORKERS``,
        default 1) and, unless ``CHURN_TRACE_PREDICT`` is on, ``tracing`` with
        ``/predict`` excluded from OpenTelemetry spans.

    Raises:
        ValueError: If ``CHURN_WORKERS`` is not a whole number of at least 1, or
            ``CHURN_TRACE_PREDICT`` is not one of the allowed switch values.
    """
    config: dict[str, Any] = {
        "traffic": {"timeout": REQUEST_TIMEOUT_S},
        "workers": _workers(environ.get(WORKERS_ENV, "1")),
    }
    if not _switch(TRACE_PREDICT_ENV, environ.get(TRACE_PREDICT_ENV, "0")):
        config["tracing"] = {"excluded_urls": [PREDICT_ROUTE]}
    return config


def _workers(value: str) -> int:
    try:
        workers = int(value)
    except ValueError:
        workers = 0
    if workers < 1:
        raise ValueError(f"{WORKERS_ENV} must be a whole number >= 1, got {value!r}")
    return workers


def _switch(name: str, value: str) -> bool:
    try:
        return _SWITCH_VALUES[value.strip().lower()]
    except KeyError:
        raise ValueError(
            f"{name} must be one of {sorted(_SWITCH_VALUES)}, got {value!r}"
        ) from None
