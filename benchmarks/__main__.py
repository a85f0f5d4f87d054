"""Run the serving A/B, then every ``benchmarks/bench_*.py`` module's ``main()``.

Each benchmark writes its own JSON file under ``benchmarks/results/`` and
measures against a baseline in the same run, so the ratio is what to read.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

from benchmarks import log_progress

logger = logging.getLogger("benchmarks")


def main() -> int:
    """Run all benchmarks; return a process exit code."""
    log_progress()
    names = [
        "ab_serving",
        *(p.stem for p in sorted(Path(__file__).parent.glob("bench_*.py"))),
    ]
    for name in names:
        logger.info("Running %s", name)
        importlib.import_module(f"benchmarks.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
