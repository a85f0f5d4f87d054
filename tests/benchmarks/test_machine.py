"""The machine facts a benchmark records: CPU steal on a shared VM."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.machine import cpu_counters, steal_percent

STAT = (
    "cpu  {user} 10 200 {idle} 30 0 5 {steal} 0 0\n"
    "cpu0 1 2 3 4 5 6 7 8 0 0\n"
    "intr 12345\n"
)


def _stat(tmp_path: Path, *, user: int, idle: int, steal: int) -> Path:
    path = tmp_path / "stat"
    path.write_text(STAT.format(user=user, idle=idle, steal=steal))
    return path


def test_counters_read_steal_and_total_from_the_cpu_line(tmp_path):
    path = _stat(tmp_path, user=1000, idle=5000, steal=40)
    # user + nice + system + idle + iowait + irq + softirq + steal; guest is in user
    assert cpu_counters(path) == (40, 1000 + 10 + 200 + 5000 + 30 + 0 + 5 + 40)


@pytest.mark.parametrize(
    "text", ["", "intr 1 2 3\n", "cpu 1 2 3\n", "cpu a b c d e f g h\n"]
)
def test_counters_are_none_for_unreadable_stat(tmp_path, text):
    path = tmp_path / "stat"
    path.write_text(text)
    assert cpu_counters(path) is None


def test_counters_are_none_without_proc(tmp_path):
    assert cpu_counters(tmp_path / "missing") is None


def test_steal_percent_is_the_stolen_share_between_readings(tmp_path):
    before = cpu_counters(_stat(tmp_path, user=1000, idle=5000, steal=40))
    after = cpu_counters(_stat(tmp_path, user=1150, idle=5100, steal=90))
    # 50 of the 300 jiffies that passed were stolen.
    assert steal_percent(before, after) == pytest.approx(100 * 50 / 300, abs=0.01)


@pytest.mark.parametrize(
    ("before", "after"), [(None, (1, 10)), ((1, 10), None), ((1, 10), (1, 10))]
)
def test_steal_percent_is_none_without_two_readings_apart(before, after):
    assert steal_percent(before, after) is None


def test_this_machine_reports_sane_counters():
    counters = cpu_counters()
    if counters is None:
        pytest.skip("no /proc/stat here")
    steal, total = counters
    assert 0 <= steal <= total
