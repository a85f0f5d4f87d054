"""Benchmarks run by ``make bench``; each ``bench_*.py`` module has a ``main()``."""

from __future__ import annotations

import logging

LOG_FORMAT = "%(asctime)s %(name)s %(message)s"


def log_progress() -> None:
    """Log INFO and up with times; a no-op when logging is already configured.

    A benchmark runs for minutes: its progress lines say what it is waiting on.
    """
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
