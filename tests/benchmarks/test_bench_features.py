"""The feature benchmark's full build: account slices give the single query's rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.bench_features import END_DATE, START_DATE
from benchmarks.feature_build import BuildSettings, build_full

from churn_pipeline.demo_data import DemoDataConfig, write_demo_data

ACCOUNTS = 120


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's demo business over its own dates, at a tiny size."""
    directory = tmp_path_factory.mktemp("demo")
    config = DemoDataConfig(
        n_accounts=ACCOUNTS, start_date=START_DATE, end_date=END_DATE, seed=3
    )
    write_demo_data(config, directory, chunk_accounts=ACCOUNTS)
    return directory


def _build(directory: Path, slices: int) -> dict:
    settings = BuildSettings(slices=slices, workers=1, threads=1, memory_limit="1GB")
    return build_full(directory, settings)


def test_slices_build_the_rows_and_columns_of_the_single_query(demo_dir: Path):
    single = _build(demo_dir, slices=1)
    sliced = _build(demo_dir, slices=3)

    assert single["output_rows"] > ACCOUNTS
    assert sliced["output_files"] == 3
    assert sliced["output_rows"] == single["output_rows"]
    assert sliced["output_columns"] == single["output_columns"]
    assert len(single["as_of_dates"]) == 12
