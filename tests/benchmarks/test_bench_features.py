"""The feature benchmark's comparison with pandas."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from benchmarks.bench_features import (
    END_DATE,
    START_DATE,
    compare_with_pandas,
    load_subsample,
    speedups,
)

from churn_pipeline.demo_data import DemoDataConfig, write_demo_data
from churn_pipeline.features.build import TABLES

ACCOUNTS = 120
SAMPLED = 60


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's demo business over its own dates, at a tiny size."""
    directory = tmp_path_factory.mktemp("demo")
    config = DemoDataConfig(
        n_accounts=ACCOUNTS, start_date=START_DATE, end_date=END_DATE, seed=3
    )
    write_demo_data(config, directory, chunk_accounts=ACCOUNTS)
    return directory


def test_speedups_are_pandas_time_over_ibis_time_by_size():
    comparisons = [
        {"accounts": 20_000, "pandas_s": 12.0, "ibis_duckdb_s": 4.0},
        {"accounts": 100_000, "pandas_s": 120.0, "ibis_duckdb_s": 16.0},
    ]
    assert speedups(comparisons) == {"20000": 3.0, "100000": 7.5}


def test_subsample_holds_every_row_of_the_sampled_accounts_only(demo_dir: Path):
    frames = load_subsample(demo_dir, SAMPLED)

    sampled = set(frames["accounts"]["account_id"])
    assert len(sampled) == SAMPLED
    for name in TABLES:
        stored = pd.read_parquet(demo_dir / f"{name}.parquet")
        expected = stored[stored["account_id"].isin(sampled)]
        assert len(frames[name]) == len(expected), name
        assert set(frames[name]["account_id"]) <= sampled, name


def test_subsample_is_shaped_as_the_pipeline_reads_parquet(demo_dir: Path):
    """One Python object per distinct string and ns timestamps, as pyarrow gives."""
    usage = load_subsample(demo_dir, SAMPLED)["usage"]

    ids = usage["account_id"].to_numpy()
    assert ids.dtype == object
    assert len({id(value) for value in ids}) == usage["account_id"].nunique()
    assert usage["usage_date"].dtype == "datetime64[ns]"


def test_comparison_keeps_every_run_and_counts_each_sides_fastest(demo_dir: Path):
    result = compare_with_pandas(demo_dir, SAMPLED, threads=2, repeats=2)

    assert result["equal"] is True
    assert result["output_rows"] > 0
    for side in ("ibis_duckdb", "pandas"):
        runs = result[f"{side}_runs_s"]
        assert len(runs) == 2
        assert round(result[f"{side}_s"], 2) == min(runs)


def test_comparison_needs_at_least_one_run(demo_dir: Path):
    with pytest.raises(ValueError, match="repeats must be >= 1, got 0"):
        compare_with_pandas(demo_dir, SAMPLED, threads=2, repeats=0)
