"""Run every ``benchmarks/bench_*.py`` module's ``main()`` in name order.

Each benchmark writes its own JSON file under ``benchmarks/results/`` and
measures against a baseline in the same run, so the ratio is what to read.
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

logger = logging.getLogger("benchmarks")


def main() -> int:
    """Run all benchmarks; return a process exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    modules = sorted(Path(__file__).parent.glob("bench_*.py"))
    if not modules:
        logger.info("No benchmarks in %s yet", Path(__file__).parent)
        return 0
    for module in modules:
        logger.info("Running %s", module.stem)
        importlib.import_module(f"benchmarks.{module.stem}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
