"""What machine a benchmark ran on, for its results file."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def machine_info(**versions: str) -> dict[str, Any]:
    """CPU model, cores, memory (GB), OS and Python, plus the given versions."""
    cpu = platform.processor() or platform.machine()
    memory_gb = None
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 2**20, 1)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        **versions,
    }
