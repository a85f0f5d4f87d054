"""Write the demo tables for up to a million accounts, one chunk of accounts at a time.

Layout: one Parquet file per table, ``<output_dir>/<table>.parquet`` (the same
names as the raw layer in ``conf/base/catalog.yml``). Each chunk of accounts is
simulated on its own and appended to every file as row groups of at most
``ROW_GROUP_ROWS`` rows, so ``pandas.read_parquet`` reads a table back whole and
memory stays bounded by one chunk.

Determinism: chunk ``k`` covers accounts ``k * chunk_accounts + 1`` onwards and
draws from its own generator, derived from the seed and ``k`` only (see
:func:`chunk_rng`). The files are therefore a function of the config and
``chunk_accounts``: the same pair gives byte-identical files, whatever else runs
on the machine or in which order chunks are simulated. A different
``chunk_accounts`` gives a different (statistically equivalent) sample, because
accounts are drawn from different streams. Chunk 0 uses exactly the stream of
:func:`~churn_pipeline.demo_data.generate_demo_data`, so a run that fits in one
chunk holds the same tables as the in-memory generator.

Account ids are numbered across chunks (``A0000001`` ... ``A1000000`` for a
million accounts); row ids (``E``, ``T``, ``I``, ``N``) continue from the rows
of earlier chunks and have at least seven digits. Rows are ordered by chunk,
then as :func:`generate_demo_data` orders them within a chunk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from churn_pipeline.demo_data.config import MAX_ACCOUNTS, DemoDataConfig
from churn_pipeline.demo_data.generator import simulate_tables
from churn_pipeline.demo_data.tables import ACCOUNT_ID_WIDTH, ROW_ID_WIDTH, format_ids

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_ACCOUNTS = 50_000
# pyarrow's default cap; converting a big table slice by slice also keeps the
# Arrow copy of the usage log small.
ROW_GROUP_ROWS = 1024 * 1024
PARTIAL_SUFFIX = ".partial"

_STR = pa.string()
_DATE = pa.timestamp("ns")
_INT = pa.int64()
_FLOAT = pa.float64()

# Explicit Arrow types: inferring them per chunk would type an all-empty column
# (e.g. no cancellation in a small chunk) as null and break the append.
ARROW_SCHEMAS: dict[str, pa.Schema] = {
    "accounts": pa.schema(
        [
            ("account_id", _STR),
            ("signup_date", _DATE),
            ("plan", _STR),
            ("seats", _INT),
            ("mrr", _FLOAT),
            ("billing_cycle", _STR),
            ("industry", _STR),
            ("country", _STR),
            ("acquisition_channel", _STR),
            ("discount_pct", _FLOAT),
        ]
    ),
    "subscription_events": pa.schema(
        [
            ("event_id", _STR),
            ("account_id", _STR),
            ("event_date", _DATE),
            ("event_type", _STR),
            ("plan", _STR),
            ("seats", _INT),
            ("mrr", _FLOAT),
            ("churn_type", _STR),
            ("reason", _STR),
        ]
    ),
    "usage": pa.schema(
        [
            ("account_id", _STR),
            ("usage_date", _DATE),
            ("logins", _INT),
            ("active_users", _INT),
            ("uses_reports", _INT),
            ("uses_dashboards", _INT),
            ("uses_integrations", _INT),
            ("uses_automations", _INT),
        ]
    ),
    "tickets": pa.schema(
        [
            ("ticket_id", _STR),
            ("account_id", _STR),
            ("opened_at", _DATE),
            ("closed_at", _DATE),
            ("priority", _STR),
            ("satisfaction", _FLOAT),
        ]
    ),
    "invoices": pa.schema(
        [
            ("invoice_id", _STR),
            ("account_id", _STR),
            ("invoice_date", _DATE),
            ("amount", _FLOAT),
            ("status", _STR),
            ("attempts", _INT),
        ]
    ),
    "nps_responses": pa.schema(
        [
            ("response_id", _STR),
            ("account_id", _STR),
            ("response_date", _DATE),
            ("score", _INT),
        ]
    ),
}

# Tables whose key is a running row number: (column, id prefix).
ROW_IDS: dict[str, tuple[str, str]] = {
    "subscription_events": ("event_id", "E"),
    "tickets": ("ticket_id", "T"),
    "invoices": ("invoice_id", "I"),
    "nps_responses": ("response_id", "N"),
}

# Every setting that shapes the bytes is pinned here rather than left to
# library defaults, so files only change when these (or pyarrow, pinned by the
# lock file) change. Parquet footers carry no timestamps; ``created_by`` names
# the pyarrow version.
PARQUET_OPTIONS: dict[str, object] = {
    "version": "2.6",
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "dictionary_pagesize_limit": 1024 * 1024,
    "data_page_size": 1024 * 1024,
    "data_page_version": "1.0",
    "write_batch_size": 1024,
    "max_rows_per_page": 20_000,
    "use_byte_stream_split": False,
    "write_statistics": True,
    "write_page_index": False,
    "write_page_checksum": False,
    "store_schema": True,
}


@dataclass(frozen=True)
class Chunk:
    """A run of consecutive accounts simulated together.

    Attributes:
        index: Position of the chunk, from 0; selects its random stream.
        first_account: Number of its first account (1-based, global).
        n_accounts: Accounts in the chunk.
    """

    index: int
    first_account: int
    n_accounts: int


@dataclass(frozen=True)
class WrittenTables:
    """What :func:`write_demo_data` wrote.

    Attributes:
        paths: Parquet file per table.
        rows: Rows written per table.
        n_chunks: Chunks the accounts were simulated in.
    """

    paths: dict[str, Path]
    rows: dict[str, int]
    n_chunks: int


def plan_chunks(n_accounts: int, chunk_accounts: int) -> list[Chunk]:
    """Split accounts ``1..n_accounts`` into chunks of ``chunk_accounts``.

    Every chunk but the last is full, so a chunk's accounts (and its random
    stream) do not depend on ``n_accounts``.

    Args:
        n_accounts: Accounts in total.
        chunk_accounts: Accounts per chunk, 1 to ``MAX_ACCOUNTS``.

    Raises:
        ValueError: If ``chunk_accounts`` is not an int in range.
    """
    if isinstance(chunk_accounts, bool) or not isinstance(chunk_accounts, int):
        raise ValueError(
            f"chunk_accounts must be an int in [1, {MAX_ACCOUNTS}], "
            f"got {chunk_accounts!r}"
        )
    if not 1 <= chunk_accounts <= MAX_ACCOUNTS:
        raise ValueError(
            f"chunk_accounts must be in [1, {MAX_ACCOUNTS}], got {chunk_accounts}"
        )
    return [
        Chunk(
            index=index,
            first_account=start + 1,
            n_accounts=min(chunk_accounts, n_accounts - start),
        )
        for index, start in enumerate(range(0, n_accounts, chunk_accounts))
    ]


def chunk_rng(seed: int, index: int) -> np.random.Generator:
    """Return the random generator of chunk ``index``.

    Chunk 0 gets ``default_rng(seed)``, the in-memory generator's stream; chunk
    ``k >= 1`` gets ``SeedSequence(seed).spawn(k + 1)[k]``, built directly. The
    spawn keys differ, so the streams are independent, and each one depends on
    ``(seed, index)`` alone.
    """
    if index == 0:
        return np.random.default_rng(seed)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def simulate_chunk(
    config: DemoDataConfig, chunk: Chunk, account_id_width: int
) -> dict[str, pd.DataFrame]:
    """Simulate one chunk's accounts with their history.

    Args:
        config: The whole run's config (``n_accounts`` is the total).
        chunk: Which accounts to simulate.
        account_id_width: Digits of account ids, fixed for the whole run.

    Returns:
        The six tables of the chunk; row ids start at 1.
    """
    chunk_config = dataclasses.replace(config, n_accounts=chunk.n_accounts)
    return simulate_tables(
        chunk_config,
        chunk_rng(config.seed, chunk.index),
        first_account=chunk.first_account,
        account_id_width=account_id_width,
    )


def write_demo_data(
    config: DemoDataConfig,
    output_dir: Path | str,
    *,
    chunk_accounts: int = DEFAULT_CHUNK_ACCOUNTS,
) -> WrittenTables:
    """Simulate ``config.n_accounts`` accounts chunk by chunk into Parquet files.

    Peak memory is that of one chunk, whatever ``n_accounts`` is: it grows with
    ``chunk_accounts`` and with the window's length. Measured peak RSS over the
    default two years: 0.7 GB at 10,000, 1.9 GB at 50,000 and 3.3 GB at 100,000
    accounts per chunk. Chunk size hardly changes speed (100,000 accounts took
    87 s at 10,000 or 100,000 per chunk; a million about 12-13 minutes on one
    core). Files are first written as
    ``<table>.parquet.partial`` and renamed when every chunk is in, so an
    interrupted run never leaves a complete-looking but truncated table.

    Args:
        config: Size, observation window, seed and signal knobs.
        output_dir: Directory for ``<table>.parquet``; created if missing,
            existing files are replaced.
        chunk_accounts: Accounts simulated together. Part of what the output
            depends on, like the seed (see the module docstring).

    Returns:
        The paths, row counts and number of chunks.

    Raises:
        ValueError: If ``chunk_accounts`` is not an int in [1, 1,000,000].
    """
    chunks = plan_chunks(config.n_accounts, chunk_accounts)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: output_dir / f"{name}.parquet" for name in ARROW_SCHEMAS}
    partial = {
        name: path.with_name(path.name + PARTIAL_SUFFIX) for name, path in paths.items()
    }
    account_id_width = max(ACCOUNT_ID_WIDTH, len(str(config.n_accounts)))
    rows = dict.fromkeys(ARROW_SCHEMAS, 0)
    began = time.perf_counter()
    logger.info(
        "Writing %d accounts (%s..%s, seed %d) in %d chunk(s) of up to %d to %s",
        config.n_accounts,
        config.start_date,
        config.end_date,
        config.seed,
        len(chunks),
        chunk_accounts,
        output_dir,
    )
    try:
        with _open_writers(partial) as writers:
            for chunk in chunks:
                tables = simulate_chunk(config, chunk, account_id_width)
                _append_chunk(tables, writers, rows)
                _log_progress(chunk, len(chunks), rows, began)
    except BaseException:
        # Half-written files must not be mistaken for output.
        for path in partial.values():
            path.unlink(missing_ok=True)
        raise
    for name, path in paths.items():
        partial[name].replace(path)
        logger.info("Wrote %s: %d rows", path, rows[name])
    return WrittenTables(paths=paths, rows=rows, n_chunks=len(chunks))


@contextlib.contextmanager
def _open_writers(paths: Mapping[str, Path]) -> Iterator[dict[str, pq.ParquetWriter]]:
    with contextlib.ExitStack() as stack:
        yield {
            name: stack.enter_context(
                pq.ParquetWriter(path, ARROW_SCHEMAS[name], **PARQUET_OPTIONS)
            )
            for name, path in paths.items()
        }


def _append_chunk(
    tables: dict[str, pd.DataFrame],
    writers: Mapping[str, pq.ParquetWriter],
    rows: dict[str, int],
) -> None:
    """Write one chunk's tables, freeing each as soon as it is on disk."""
    for name in list(tables):
        frame = tables.pop(name)
        if name in ROW_IDS:
            column, prefix = ROW_IDS[name]
            frame[column] = format_ids(prefix, rows[name] + 1, len(frame), ROW_ID_WIDTH)
        _write_frame(writers[name], frame, ARROW_SCHEMAS[name])
        rows[name] += len(frame)
        del frame


def _write_frame(
    writer: pq.ParquetWriter, frame: pd.DataFrame, schema: pa.Schema
) -> None:
    if list(frame.columns) != schema.names:
        raise ValueError(
            f"Columns {list(frame.columns)} do not match the file schema {schema.names}"
        )
    # Slice by slice: only one row group's Arrow copy exists at a time.
    for start in range(0, len(frame), ROW_GROUP_ROWS):
        piece = frame.iloc[start : start + ROW_GROUP_ROWS]
        table = pa.Table.from_pandas(piece, schema=schema, preserve_index=False)
        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)


def _log_progress(
    chunk: Chunk, n_chunks: int, rows: Mapping[str, int], began: float
) -> None:
    elapsed = time.perf_counter() - began
    done = chunk.index + 1
    remaining = elapsed / done * (n_chunks - done)
    last = chunk.first_account + chunk.n_accounts - 1
    logger.info(
        "Chunk %d/%d: accounts %d-%d done; rows so far %s; %.1f s elapsed, ~%.0f s "
        "left",
        done,
        n_chunks,
        chunk.first_account,
        last,
        ", ".join(f"{name}={count}" for name, count in rows.items()),
        elapsed,
        math.ceil(remaining),
    )
