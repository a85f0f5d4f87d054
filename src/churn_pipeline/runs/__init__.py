"""Runs that cannot trip over each other: the run lock, abandoned MLflow runs."""

from churn_pipeline.runs.lock import (
    LOCK_FILENAME,
    WAIT_ENV,
    Holder,
    RunLock,
    RunLockedError,
    read_holder,
    wait_seconds,
)
from churn_pipeline.runs.stale import ABANDONED_TAG, fail_abandoned_runs

__all__ = [
    "ABANDONED_TAG",
    "LOCK_FILENAME",
    "WAIT_ENV",
    "Holder",
    "RunLock",
    "RunLockedError",
    "fail_abandoned_runs",
    "read_holder",
    "wait_seconds",
]
