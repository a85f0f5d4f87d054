"""The OpenMP benchmark runs each setting in a fresh interpreter, quiet and busy."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench_openmp

# Stands in for the fit: reports the spin settings it was started with.
SHOW = (
    "import os; print(os.environ.get('GOMP_SPINCOUNT', 'unset'), "
    "os.environ.get('OMP_WAIT_POLICY', 'unset'))"
)


def test_the_seconds_are_the_last_line_the_workload_prints(monkeypatch):
    monkeypatch.setattr(bench_openmp, "FIT", SHOW + "; print(2.4999)")

    assert bench_openmp.fit_seconds({}) == 2.5


@pytest.mark.parametrize(
    ("settings", "expected"),
    [({}, "unset unset"), ({"GOMP_SPINCOUNT": "1000"}, "1000 unset")],
)
def test_the_callers_spin_settings_are_replaced(monkeypatch, settings, expected):
    monkeypatch.setenv("GOMP_SPINCOUNT", "7")
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    monkeypatch.setattr(bench_openmp, "FIT", SHOW)

    assert bench_openmp.run_fit(settings).strip() == expected


def test_the_results_file_has_every_setting_quiet_and_busy(monkeypatch, tmp_path):
    monkeypatch.setattr(bench_openmp, "FIT", "print(1.25)")
    output = tmp_path / "openmp.json"

    assert bench_openmp.main(["--repeats", "1", "--output", str(output)]) == 0

    results = json.loads(output.read_text())["results"]
    assert set(results) == set(bench_openmp.SETTINGS)
    for timings in results.values():
        assert timings == {"quiet": [1.25], "busy": [1.25]}
