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


def cpu_counters(stat: Path = Path("/proc/stat")) -> tuple[int, int] | None:
    """Jiffies the hypervisor stole from this VM, and all jiffies, since boot.

    ``None`` where the kernel does not report them (not Linux).
    """
    try:
        fields = stat.read_text().splitlines()[0].split()
        # user nice system idle iowait irq softirq steal [guest guest_nice];
        # guest time is already counted in user.
        counts = [int(value) for value in fields[1:9]]
    except (OSError, IndexError, ValueError):
        return None  # a diagnostic: never the reason a benchmark fails
    if fields[0] != "cpu" or len(counts) < 8:
        return None
    return counts[7], sum(counts)


def steal_percent(
    before: tuple[int, int] | None, after: tuple[int, int] | None
) -> float | None:
    """Share of CPU time stolen between two :func:`cpu_counters` readings.

    On a shared VM a run's latency moves with what the neighbours take; this
    says how much they took while it ran.
    """
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round(100.0 * (after[0] - before[0]) / (after[1] - before[1]), 2)
