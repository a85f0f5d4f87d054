"""Tests of the chunked Parquet writer of the demo data (small sizes only)."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from churn_pipeline.demo_data import DemoDataConfig, generate_demo_data
from churn_pipeline.demo_data import writer as writer_module
from churn_pipeline.demo_data.cli import main
from churn_pipeline.demo_data.writer import (
    ARROW_SCHEMAS,
    ROW_IDS,
    Chunk,
    WrittenTables,
    plan_chunks,
    simulate_chunk,
    write_demo_data,
)
from churn_pipeline.validation import RAW_TABLES, validate_table

# Existing customers make every chunk simulate a year of history: the slow but
# realistic path, so only the byte-identity and contract tests use it.
HISTORY = DemoDataConfig(
    n_accounts=60, start_date="2024-01-01", end_date="2024-02-29", seed=5
)
HISTORY_CHUNK = 40
# Without existing customers a chunk takes a fraction of a second.
FAST = dataclasses.replace(HISTORY, existing_share=0.0)
FAST_CHUNK = 25


def _digests(written: WrittenTables) -> dict[str, str]:
    return {
        name: hashlib.sha256(path.read_bytes()).hexdigest()
        for name, path in written.paths.items()
    }


def _read(written: WrittenTables) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(path) for name, path in written.paths.items()}


@pytest.fixture(scope="module")
def history_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[WrittenTables, WrittenTables]:
    first = write_demo_data(
        HISTORY, tmp_path_factory.mktemp("first"), chunk_accounts=HISTORY_CHUNK
    )
    second = write_demo_data(
        HISTORY, tmp_path_factory.mktemp("second"), chunk_accounts=HISTORY_CHUNK
    )
    return first, second


@pytest.fixture(scope="module")
def history_tables(
    history_runs: tuple[WrittenTables, WrittenTables],
) -> dict[str, pd.DataFrame]:
    return _read(history_runs[0])


@pytest.fixture(scope="module")
def fast_run(tmp_path_factory: pytest.TempPathFactory) -> WrittenTables:
    return write_demo_data(
        FAST, tmp_path_factory.mktemp("fast"), chunk_accounts=FAST_CHUNK
    )


def test_same_seed_writes_byte_identical_files(
    history_runs: tuple[WrittenTables, WrittenTables],
) -> None:
    first, second = history_runs
    assert first.n_chunks == 2
    assert first.rows == second.rows
    assert _digests(first) == _digests(second)
    assert all(rows > 0 for rows in first.rows.values()), first.rows


def test_different_seed_writes_different_bytes(
    fast_run: WrittenTables, tmp_path: Path
) -> None:
    other = write_demo_data(
        dataclasses.replace(FAST, seed=6), tmp_path, chunk_accounts=FAST_CHUNK
    )
    ours, theirs = _digests(fast_run), _digests(other)
    assert ours["accounts"] != theirs["accounts"]
    assert ours["usage"] != theirs["usage"]


def test_only_final_files_are_left(fast_run: WrittenTables) -> None:
    directory = fast_run.paths["accounts"].parent
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        f"{name}.parquet" for name in ARROW_SCHEMAS
    )


def test_row_counts_match_the_files(
    history_runs: tuple[WrittenTables, WrittenTables],
    history_tables: dict[str, pd.DataFrame],
) -> None:
    written = history_runs[0]
    assert written.rows["accounts"] == HISTORY.n_accounts
    for name, path in written.paths.items():
        assert pq.ParquetFile(path).metadata.num_rows == written.rows[name], name
        assert len(history_tables[name]) == written.rows[name], name


def test_ids_are_unique_and_contiguous_across_chunks(
    history_tables: dict[str, pd.DataFrame],
) -> None:
    accounts = history_tables["accounts"]["account_id"]
    expected = [f"A{i:06d}" for i in range(1, HISTORY.n_accounts + 1)]
    assert accounts.tolist() == expected
    for name, (column, prefix) in ROW_IDS.items():
        ids = history_tables[name][column]
        assert ids.tolist() == [f"{prefix}{i:07d}" for i in range(1, len(ids) + 1)]
    # Both chunks show up in the activity, not just the first.
    usage_accounts = set(history_tables["usage"]["account_id"])
    assert any(a <= "A000040" for a in usage_accounts)
    assert any(a > "A000040" for a in usage_accounts)


def test_read_back_tables_pass_the_data_contract(
    history_tables: dict[str, pd.DataFrame], validation_params: dict[str, Any]
) -> None:
    options = {
        "allowed_values": validation_params["allowed_values"],
        "usage_columns": validation_params["usage_columns"],
    }
    accounts = validate_table("accounts", history_tables["accounts"], **options)
    assert accounts.rejected.empty
    accounts = accounts.accepted
    assert len(accounts) == HISTORY.n_accounts
    for name in RAW_TABLES:
        if name != "accounts":
            result = validate_table(
                name, history_tables[name], accounts=accounts, **options
            )
            assert result.rejected.empty, name
            assert len(result.accepted) == len(history_tables[name]), name


def test_first_chunk_is_the_in_memory_generator_output(
    history_tables: dict[str, pd.DataFrame],
) -> None:
    # Chunk 0 draws from default_rng(seed), so it is generate_demo_data for a
    # config of the chunk's size: one code path for both, same data.
    in_memory = generate_demo_data(
        dataclasses.replace(HISTORY, n_accounts=HISTORY_CHUNK)
    )
    first_chunk = {f"A{i:06d}" for i in range(1, HISTORY_CHUNK + 1)}
    for name, expected in in_memory.items():
        rows = history_tables[name]
        got = rows[rows["account_id"].isin(first_chunk)].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, obj=name)


def test_chunks_do_not_depend_on_order_or_earlier_chunks(
    fast_run: WrittenTables,
) -> None:
    tables = _read(fast_run)
    chunks = plan_chunks(FAST.n_accounts, FAST_CHUNK)
    width = 6
    # Simulated alone and backwards, each chunk still matches the file.
    for chunk in reversed(chunks):
        alone = simulate_chunk(FAST, chunk, width)
        mine = {
            f"A{i:06d}"
            for i in range(chunk.first_account, chunk.first_account + chunk.n_accounts)
        }
        for name in ("accounts", "usage", "invoices"):
            rows = tables[name]
            got = rows[rows["account_id"].isin(mine)].reset_index(drop=True)
            expected = alone[name]
            if name in ROW_IDS:
                column = ROW_IDS[name][0]
                got, expected = got.drop(columns=column), expected.drop(columns=column)
            pd.testing.assert_frame_equal(got, expected, obj=f"{name} {chunk}")


def test_more_accounts_only_append_chunks(
    fast_run: WrittenTables, tmp_path: Path
) -> None:
    # A chunk depends on (seed, chunk index, chunk size), not on the total.
    shorter = dataclasses.replace(FAST, n_accounts=2 * FAST_CHUNK)
    prefix = _read(write_demo_data(shorter, tmp_path, chunk_accounts=FAST_CHUNK))
    full = _read(fast_run)
    for name, frame in prefix.items():
        head = full[name].iloc[: len(frame)].reset_index(drop=True)
        pd.testing.assert_frame_equal(head, frame, obj=name)
    assert len(full["accounts"]) > len(prefix["accounts"])


def test_chunk_size_changes_the_sample_not_the_schema(
    fast_run: WrittenTables, tmp_path: Path
) -> None:
    # Documented: chunk_accounts is part of the recipe, like the seed.
    other = write_demo_data(FAST, tmp_path, chunk_accounts=FAST.n_accounts)
    assert other.n_chunks == 1
    assert other.rows["accounts"] == fast_run.rows["accounts"]
    assert _digests(other)["usage"] != _digests(fast_run)["usage"]
    for name, path in other.paths.items():
        assert pq.read_schema(path).equals(ARROW_SCHEMAS[name]), name


def test_logs_progress_per_chunk(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = dataclasses.replace(FAST, n_accounts=30)
    with caplog.at_level(logging.INFO, logger="churn_pipeline.demo_data.writer"):
        write_demo_data(config, tmp_path, chunk_accounts=20)
    assert "Chunk 1/2: accounts 1-20" in caplog.text
    assert "Chunk 2/2: accounts 21-30" in caplog.text
    assert "elapsed" in caplog.text


def test_failed_run_leaves_no_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = writer_module.simulate_chunk

    def fail_on_second(
        config: DemoDataConfig, chunk: Chunk, width: int
    ) -> dict[str, pd.DataFrame]:
        if chunk.index == 1:
            raise RuntimeError("boom")
        return real(config, chunk, width)

    monkeypatch.setattr(writer_module, "simulate_chunk", fail_on_second)
    config = dataclasses.replace(FAST, n_accounts=30)
    with pytest.raises(RuntimeError, match="boom"):
        write_demo_data(config, tmp_path / "out", chunk_accounts=20)
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("chunk_accounts", [0, -5, 1_000_001, 2.5, True, "10"])
def test_invalid_chunk_size_is_rejected(chunk_accounts: object, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chunk_accounts must be"):
        write_demo_data(FAST, tmp_path / "out", chunk_accounts=chunk_accounts)  # type: ignore[arg-type]
    assert not (tmp_path / "out").exists()


def test_plan_chunks_covers_every_account_once() -> None:
    chunks = plan_chunks(105, 25)
    assert [c.n_accounts for c in chunks] == [25, 25, 25, 25, 5]
    assert [c.first_account for c in chunks] == [1, 26, 51, 76, 101]
    assert [c.index for c in chunks] == [0, 1, 2, 3, 4]


def test_cli_writes_the_tables_in_chunks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "raw"
    argv = [
        "--n-accounts",
        "30",
        "--seed",
        "3",
        "--start-date",
        "2024-01-01",
        "--end-date",
        "2024-01-31",
        "--existing-share",
        "0",
        "--chunk-accounts",
        "20",
        "--output-dir",
        str(out),
    ]
    with caplog.at_level(logging.INFO):
        assert main(argv) == 0
    assert "Chunk 2/2" in caplog.text
    config = DemoDataConfig(
        n_accounts=30,
        seed=3,
        start_date="2024-01-01",
        end_date="2024-01-31",
        existing_share=0.0,
    )
    again = write_demo_data(config, tmp_path / "api", chunk_accounts=20)
    for name in ARROW_SCHEMAS:
        path = out / f"{name}.parquet"
        assert path.read_bytes() == again.paths[name].read_bytes(), name
    assert len(pd.read_parquet(out / "accounts.parquet")) == 30


def test_cli_rejects_invalid_chunk_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--chunk-accounts", "0", "--output-dir", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "chunk_accounts must be in" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
