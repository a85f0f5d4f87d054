"""The machine a benchmark runs on: the facts a results file records.

CPU model, cores, memory, versions and the code that ran; CPU steal between
two readings; the memory and CPU of a server's process tree.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger("benchmarks.machine")
PROJECT = Path(__file__).resolve().parents[1]


class ToolMissingError(RuntimeError):
    """A program the benchmark needs is not installed."""


def tool(name: str, hint: str) -> str:
    """The path of executable ``name``.

    Raises:
        ToolMissingError: If it is on neither ``PATH`` nor ``/usr/bin``.
    """
    found = shutil.which(name)
    if found is None and os.access(f"/usr/bin/{name}", os.X_OK):
        found = f"/usr/bin/{name}"
    if found is None:
        raise ToolMissingError(f"{name} is not installed: {hint}")
    return found


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


def code_version(paths: Sequence[str] = ("serving", "src")) -> dict[str, Any]:
    """The checked-out commit, and the files under ``paths`` changed since."""

    def git(*arguments: str) -> str:
        try:
            done = subprocess.run(
                ["git", *arguments], check=False, cwd=PROJECT, capture_output=True
            )
        except OSError:
            return ""
        return done.stdout.decode().strip()

    return {
        "git_commit": git("rev-parse", "--short", "HEAD") or None,
        "uncommitted": git("status", "--porcelain", *paths).splitlines(),
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


def process_tree(pid: int) -> list[Any]:
    """``psutil`` handles of a process and its descendants (a server's workers)."""
    import psutil  # noqa: PLC0415 (bentoml's dependency)

    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_memory_mb(pid: int) -> dict[str, Any]:
    """Resident memory of a process tree: ``rss_mb`` and ``pss_mb`` (shared pages
    counted once per process, and shared out), and how many processes.

    Processes that exit meanwhile are left out.
    """
    import psutil  # noqa: PLC0415

    infos = []
    for process in process_tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            infos.append(process.memory_full_info())
    pss = sum(getattr(info, "pss", 0) for info in infos)
    return {
        "rss_mb": round(sum(info.rss for info in infos) / 2**20, 1),
        "pss_mb": round(pss / 2**20, 1) if pss else None,
        "processes": len(infos),
    }


def tree_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process tree so far."""
    import psutil  # noqa: PLC0415

    total = 0.0
    for process in process_tree(pid):
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            times = process.cpu_times()
            total += times.user + times.system
    return total
