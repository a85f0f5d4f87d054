"""The serving configuration both served services take from the environment.

``@bentoml.service`` options are fixed at import, so they come from environment
variables read here, once, for ``serving.service`` and the benchmark's no-op
service alike (the floor must run the same server configuration).

Tracing: BentoML wraps every request in an OpenTelemetry span, exporter or not.
With no exporter configured (the default) nobody reads those spans, yet they
cost a good part of a ``/predict`` call's server CPU (measured in
docs/benchmarks.md). So ``/predict`` is excluded unless ``CHURN_TRACE_PREDICT=1``,
which anyone who configures a tracing exporter for BentoML should set.

Garbage collection: see :func:`freeze_startup_objects`.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

WORKERS_ENV = "CHURN_WORKERS"
DEFAULT_WORKERS = 2
HEADER_TIMEOUT_ENV = "CHURN_HEADER_TIMEOUT_S"
DEFAULT_HEADER_TIMEOUT_S = 10
TRACE_PREDICT_ENV = "CHURN_TRACE_PREDICT"
GC_FREEZE_ENV = "CHURN_GC_FREEZE"
PREDICT_ROUTE = "/predict"
REQUEST_TIMEOUT_S = 60
_SWITCH_VALUES = {"0": False, "false": False, "1": True, "true": True}


def service_config(environ: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments of ``@bentoml.service`` from environment variables.

    Args:
        environ: The environment, usually ``os.environ``.

    Returns:
        ``traffic`` (the request timeout), ``workers`` (``CHURN_WORKERS``,
        default 2: while the supervisor restarts a worker that died, which
        takes as long as loading the model, the other answers) and, unless
        ``CHURN_TRACE_PREDICT`` is on, ``tracing`` with ``/predict`` excluded
        from OpenTelemetry spans.

    Raises:
        ValueError: If ``CHURN_WORKERS`` is not a whole number of at least 1, or
            ``CHURN_TRACE_PREDICT`` is not one of the allowed switch values.
    """
    config: dict[str, Any] = {
        "traffic": {"timeout": REQUEST_TIMEOUT_S},
        "workers": whole_number_setting(environ, WORKERS_ENV, DEFAULT_WORKERS),
    }
    if not _switch(TRACE_PREDICT_ENV, environ.get(TRACE_PREDICT_ENV, "0")):
        config["tracing"] = {"excluded_urls": [PREDICT_ROUTE]}
    return config


def header_timeout_s(environ: Mapping[str, str]) -> int:
    """Seconds a connection has to send a complete request head.

    ``CHURN_HEADER_TIMEOUT_S`` (default 10), see src/churn_pipeline/serving/edge.py.

    Raises:
        ValueError: If it is not a whole number of at least 1.
    """
    return whole_number_setting(environ, HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT_S)


def freeze_startup_objects(environ: Mapping[str, str]) -> int:
    """Leave the objects start-up built out of later garbage collections.

    A loaded champion with its explainers, schemas and imported modules is
    hundreds of thousands of objects the cyclic garbage collector tracks. Each
    full collection walks them all, stalling every request in that worker
    (docs/benchmarks.md measures it). They live as long as the process, so once
    the service has warmed up they are collected once and frozen
    (:func:`gc.freeze`); later collections walk only what serving allocates.

    Args:
        environ: The environment; ``CHURN_GC_FREEZE=0`` switches this off.

    Returns:
        How many objects are frozen (0 when switched off).

    Raises:
        ValueError: If ``CHURN_GC_FREEZE`` is not one of the allowed switch
            values.
    """
    if not _switch(GC_FREEZE_ENV, environ.get(GC_FREEZE_ENV, "1")):
        return 0
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def whole_number_setting(
    environ: Mapping[str, str], name: str, default: int, *, minimum: int = 1
) -> int:
    """A whole-number setting from the environment, ``default`` when unset.

    Raises:
        ValueError: Naming the variable, if it is not a whole number of at
            least ``minimum``.
    """
    value = environ.get(name, str(default))
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return number


def _switch(name: str, value: str) -> bool:
    try:
        return _SWITCH_VALUES[value.strip().lower()]
    except KeyError:
        raise ValueError(
            f"{name} must be one of {sorted(_SWITCH_VALUES)}, got {value!r}"
        ) from None
