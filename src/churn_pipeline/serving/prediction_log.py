"""An append-only, rotated JSON-lines log of every prediction the service answered.

Monitoring reads it later: drift of the served probabilities and features,
and realized performance once the labels of past scores mature. Records go
through Python's ``logging`` queue, so a request only enqueues; a listener
thread writes them with a size-rotating file handler. Each worker process
writes its own file (``predictions-<pid>.jsonl``): rotating one file from
several processes would lose records.
"""

from __future__ import annotations

import json
import logging
import os
import queue
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener, RotatingFileHandler
from pathlib import Path
from typing import Any

LOG_DIR_ENV = "CHURN_PREDICTION_LOG_DIR"
DEFAULT_LOG_DIR = "data/07_model_output/prediction_log"
MAX_BYTES_ENV = "CHURN_PREDICTION_LOG_MAX_BYTES"
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
BACKUPS = 20


class PredictionLog:
    """Writes one JSON line per answered prediction.

    Args:
        directory: Where the files go (created if needed).
        max_bytes: A file rotates when it reaches this size.
        backups: Rotated files kept per process.
    """

    def __init__(
        self, directory: str | Path, *, max_bytes: int, backups: int = BACKUPS
    ) -> None:
        self.path = Path(directory) / f"predictions-{os.getpid()}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            self.path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter("%(message)s"))
        self._queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self._listener = QueueListener(self._queue, handler)
        # A logger of its own that nothing else writes to or propagates from.
        self._logger = logging.getLogger(f"churn_pipeline.predictions.{id(self)}")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        self._logger.addHandler(QueueHandler(self._queue))
        self._listener.start()

    def record(
        self,
        predictions: Iterable[Mapping[str, Any]],
        *,
        model_name: str,
        model_version: str,
    ) -> None:
        """Log answered predictions (one request's), stamped now in UTC."""
        now = datetime.now(UTC).isoformat()
        for prediction in predictions:
            as_of = prediction.get("features_as_of")
            line = {
                "time": now,
                "account_id": prediction["account_id"],
                "model_name": model_name,
                "model_version": model_version,
                "churn_probability": prediction["churn_probability"],
                "risk_band": prediction.get("risk_band"),
                "features_as_of": None if as_of is None else str(as_of),
                "overridden": list(prediction.get("overridden", ())),
                "stale": prediction.get("stale", False),
            }
            self._logger.info(json.dumps(line, separators=(",", ":")))

    def close(self) -> None:
        """Write what is queued and stop the listener."""
        self._listener.stop()


def prediction_log_from_environ(environ: Mapping[str, str]) -> PredictionLog | None:
    """The log ``CHURN_PREDICTION_LOG_DIR`` asks for; ``None`` if set to empty.

    Raises:
        ValueError: Naming ``CHURN_PREDICTION_LOG_MAX_BYTES`` if it is not a
            whole number >= 1024.
    """
    directory = environ.get(LOG_DIR_ENV, DEFAULT_LOG_DIR)
    if not directory.strip():
        return None
    raw = environ.get(MAX_BYTES_ENV, str(DEFAULT_MAX_BYTES))
    if not raw.isdigit() or int(raw) < 1024:
        raise ValueError(f"{MAX_BYTES_ENV} must be a whole number >= 1024, got {raw!r}")
    return PredictionLog(directory, max_bytes=int(raw))
