"""The feature benchmark's comparison with pandas."""

from __future__ import annotations

from benchmarks.bench_features import speedups


def test_speedups_are_pandas_time_over_ibis_time_by_size():
    comparisons = [
        {"accounts": 20_000, "pandas_s": 12.0, "ibis_duckdb_s": 4.0},
        {"accounts": 100_000, "pandas_s": 120.0, "ibis_duckdb_s": 16.0},
    ]
    assert speedups(comparisons) == {"20000": 3.0, "100000": 7.5}
