"""Snapshot slices read through DuckDB: only the rows and columns a step needs.

The model input table has one row per account and as-of date: at a million
accounts that is over ten million rows, more than pandas should hold. Every
model step reads it here instead: first the labelled rows' dates and label
counts (one row per date and label), then the rows of one slice (a range of
as-of dates), with its feature columns as float32 and, above a row cap, a
sample drawn in the query itself.

The sample is a deterministic hash of ``(account_id, as_of_date, seed)`` (MD5,
the same on any machine and DuckDB version), so a fixed seed keeps the same
rows. Each kept row gets ``sample_weight`` = the rows of its as-of date and
label in the slice over those kept: weighted sums (counts, log-likelihoods)
then estimate the full slice's, so fitted probabilities stay calibrated.

A pandas table (tests, a user's in-memory input) goes through the same queries,
registered in DuckDB, so both inputs give the same rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd

from churn_pipeline.datasets.parquet_table import ParquetTable, TableData

logger = logging.getLogger(__name__)

SAMPLE_WEIGHT = "sample_weight"
_TABLE = "snapshots"
# Columns that are never features, so never cast to float32.
_NOT_FEATURES = ("account_id", "as_of_date", "label", "is_labelled")
_NUMERIC_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
)
# A uniform number in [0, 1) per row: the top 53 bits of the key's MD5.
_UNIFORM = (
    "(md5_number_lower(CAST(account_id AS VARCHAR) || '|' || "
    "strftime(as_of_date, '%Y-%m-%d') || '|' || CAST(? AS VARCHAR)) >> 11)"
    "::DOUBLE / 9007199254740992.0"
)


@dataclass(frozen=True)
class Share:
    """Which share of each class a read keeps (1.0 keeps every row).

    Attributes:
        churners: Share of label-1 rows kept.
        non_churners: Share of label-0 rows kept.
        seed: Seed of the row hash.
    """

    churners: float = 1.0
    non_churners: float = 1.0
    seed: int = 0

    @property
    def keeps_all(self) -> bool:
        """Whether the read keeps every row (no hash needed)."""
        return self.churners >= 1.0 and self.non_churners >= 1.0


def class_shares(
    churners: int, non_churners: int, max_rows: int | None
) -> tuple[float, float]:
    """The shares of churners and non-churners that bring a slice to ``max_rows``.

    Churners are the rare class, so they are kept first: every churner while
    they take at most half the cap, the non-churners filling the rest. When
    churners alone would take more than half (a large business: 2 % churn of
    ten million rows), each class gets half the cap, so the rows fitted on stay
    bounded whatever the data's size and the classes are never inverted.

    Args:
        churners: Label-1 rows in the slice.
        non_churners: Label-0 rows in the slice.
        max_rows: The cap; ``None`` keeps everything.

    Returns:
        ``(churner share, non-churner share)``, each in (0, 1]; ``(1.0, 1.0)``
        when the slice fits.
    """
    if max_rows is None or churners + non_churners <= max_rows:
        return 1.0, 1.0
    half = max(max_rows // 2, 1)
    if churners <= half:
        return 1.0, min(1.0, (max_rows - churners) / non_churners)
    return half / churners, min(1.0, half / max(non_churners, 1))


def uniform(rows: int, max_rows: int | None) -> float:
    """The share of every class that brings ``rows`` to ``max_rows`` (1.0 if fits)."""
    if max_rows is None or rows <= max_rows:
        return 1.0
    return max_rows / rows


def weights_of(rows: pd.DataFrame) -> np.ndarray | None:
    """The rows' ``sample_weight``, or ``None`` when absent or all one (unsampled)."""
    if SAMPLE_WEIGHT not in rows:
        return None
    weight = rows[SAMPLE_WEIGHT].to_numpy(dtype=float)
    return None if np.all(weight == 1.0) else weight


class Snapshots:
    """The model input table, read slice by slice through DuckDB.

    Args:
        data: A :class:`ParquetTable` (read by DuckDB out of core) or a pandas
            frame (registered in DuckDB). Without an ``is_labelled`` column
            every row counts as labelled.
    """

    def __init__(self, data: TableData | ibis.Table) -> None:
        self._con = duckdb.connect()
        if isinstance(data, ParquetTable):
            # A directory (as Spark writes) is read as all its part files.
            source = data.path
            if Path(source).is_dir():
                source = str(Path(source) / "**" / "*.parquet")
            path = source.replace("'", "''")
            self._con.execute(
                f"CREATE VIEW {_TABLE} AS SELECT * FROM read_parquet('{path}')"
            )
        elif isinstance(data, ibis.Table):
            # An in-memory catalog hands on the feature build's expression.
            self._con.register(_TABLE, data.to_pyarrow())
        else:
            self._con.register(_TABLE, data)
        described = self._con.sql(f"DESCRIBE {_TABLE}").fetchall()
        self._types = {str(row[0]): str(row[1]) for row in described}
        self._labelled = "is_labelled" if "is_labelled" in self._types else "TRUE"
        self._counts: pd.DataFrame | None = None

    @property
    def columns(self) -> list[str]:
        """Column names, in table order."""
        return list(self._types)

    def label_counts(self) -> pd.DataFrame:
        """Labelled rows per as-of date: ``as_of_date``, ``rows``, ``churners``."""
        # One scan of three columns, kept: every sampled read needs the counts.
        if self._counts is None:
            self._counts = self._count_labels()
        return self._counts.copy()

    def _count_labels(self) -> pd.DataFrame:
        counts = self._con.sql(
            f"SELECT as_of_date, count(*) AS rows, "
            f"CAST(sum(CASE WHEN label = 1 THEN 1 ELSE 0 END) AS BIGINT) "
            f"AS churners FROM {_TABLE} WHERE {self._labelled} "
            "GROUP BY as_of_date ORDER BY as_of_date"
        ).df()
        counts["as_of_date"] = pd.to_datetime(counts["as_of_date"])
        return counts

    def labelled_dates(self) -> list[pd.Timestamp]:
        """Distinct labelled as-of dates, oldest first."""
        return [pd.Timestamp(d) for d in self.label_counts()["as_of_date"]]

    def scoring_rows(self) -> pd.DataFrame:
        """The unlabelled rows of the newest unlabelled as-of date, every column."""
        if self._labelled == "TRUE":
            return self._con.sql(f"SELECT * FROM {_TABLE} LIMIT 0").df()
        return self._con.sql(
            f"SELECT * FROM {_TABLE} WHERE NOT is_labelled AND as_of_date = "
            f"(SELECT max(as_of_date) FROM {_TABLE} WHERE NOT is_labelled)"
        ).df()

    def read(
        self,
        *,
        first: pd.Timestamp | None = None,
        last: pd.Timestamp | None = None,
        share: Share | None = None,
        columns: Sequence[str] | None = None,
        float32: bool = False,
    ) -> pd.DataFrame:
        """Labelled rows with ``first <= as_of_date <= last``, sampled by ``share``.

        Args:
            first: Oldest as-of date kept (``None``: no bound).
            last: Newest as-of date kept (``None``: no bound).
            share: Class shares kept; ``None`` keeps every row.
            columns: Columns to read (``as_of_date`` and ``label`` are always
                read, ``account_id`` when present); ``None`` reads all.
            float32: Read numeric feature columns as float32.

        Returns:
            The rows in table order, with ``sample_weight`` (see the module
            docstring; 1.0 everywhere without sampling).

        Raises:
            ValueError: If a named column is not in the table, or sampling is
                asked of a table without ``account_id``.
        """
        share = share or Share()
        where, params = self._where(first, last)
        if not share.keeps_all:
            if "account_id" not in self._types:
                raise ValueError(
                    "Sampling snapshots needs an account_id column to hash; "
                    f"the table has {self.columns}"
                )
            where += (
                f" AND ((label = 1 AND {_UNIFORM} < ?) OR "
                f"(label <> 1 AND {_UNIFORM} < ?))"
            )
            params += [share.seed, share.churners, share.seed, share.non_churners]
        select = ", ".join(self._select(columns, float32))
        rows = self._con.execute(
            f"SELECT {select} FROM {_TABLE} WHERE {where}", params
        ).df()
        rows["as_of_date"] = pd.to_datetime(rows["as_of_date"])
        rows[SAMPLE_WEIGHT] = self._weights(rows, first, last, share)
        return rows

    def _where(
        self, first: pd.Timestamp | None, last: pd.Timestamp | None
    ) -> tuple[str, list[object]]:
        clauses, params = [self._labelled], []
        if first is not None:
            clauses.append("as_of_date >= ?")
            params.append(pd.Timestamp(first).to_pydatetime())
        if last is not None:
            clauses.append("as_of_date <= ?")
            params.append(pd.Timestamp(last).to_pydatetime())
        return " AND ".join(clauses), params

    def _select(self, columns: Sequence[str] | None, float32: bool) -> list[str]:
        if columns is None:
            wanted = list(self._types)
        else:
            always = [c for c in _NOT_FEATURES[:3] if c in self._types]
            wanted = [*always, *(c for c in columns if c not in always)]
        missing = sorted(set(wanted) - set(self._types))
        if missing:
            raise ValueError(
                f"model_input_table lacks columns {missing}; it has {self.columns}"
            )
        select = []
        for name in wanted:
            quoted = '"' + name.replace('"', '""') + '"'
            numeric = self._types[name].startswith(_NUMERIC_TYPES)
            if float32 and numeric and name not in _NOT_FEATURES:
                select.append(f"CAST({quoted} AS FLOAT) AS {quoted}")
            else:
                select.append(quoted)
        return select

    def _weights(
        self,
        rows: pd.DataFrame,
        first: pd.Timestamp | None,
        last: pd.Timestamp | None,
        share: Share,
    ) -> np.ndarray:
        """Rows of each (as-of date, label) in the slice over those kept."""
        if share.keeps_all or rows.empty:
            return np.ones(len(rows))
        counts = self.label_counts()
        inside = np.ones(len(counts), dtype=bool)
        if first is not None:
            inside &= counts["as_of_date"] >= pd.Timestamp(first)
        if last is not None:
            inside &= counts["as_of_date"] <= pd.Timestamp(last)
        counts = counts[inside].set_index("as_of_date")
        churner = (rows["label"] == 1).to_numpy()
        kept = rows.groupby([rows["as_of_date"], churner]).size()
        total = pd.concat(
            {True: counts["churners"], False: counts["rows"] - counts["churners"]}
        ).swaplevel()
        ratio = total.reindex(kept.index) / kept
        where = pd.MultiIndex.from_arrays([rows["as_of_date"], churner])
        return ratio.reindex(where).to_numpy(dtype=float)


def training_sample(
    snapshots: Snapshots,
    *,
    last: pd.Timestamp,
    max_rows: int | None,
    seed: int,
    columns: Sequence[str] | None = None,
    what: str = "training",
) -> pd.DataFrame:
    """The labelled rows up to ``last``, to at most ``max_rows`` (:func:`class_shares`).

    Args:
        snapshots: The model input table.
        last: Newest as-of date of the slice.
        max_rows: Row cap (``None``: every row).
        seed: Seed of the row hash (the model's ``random_state``).
        columns: Columns to read (``None``: all).
        what: The slice's name, for the log line.

    Returns:
        The rows, numeric features as float32, with ``sample_weight``.
    """
    counts = snapshots.label_counts()
    inside = counts[counts["as_of_date"] <= pd.Timestamp(last)]
    churners = int(inside["churners"].sum())
    rows = int(inside["rows"].sum())
    churner_share, non_churner_share = class_shares(churners, rows - churners, max_rows)
    share = Share(churners=churner_share, non_churners=non_churner_share, seed=seed)
    sample = snapshots.read(last=last, share=share, columns=columns, float32=True)
    if not share.keeps_all:
        logger.info(
            "%s slice sampled: %d of %d rows (churner share %.4f of %d, "
            "non-churner share %.4f of %d, weighted back; cap %d)",
            what.capitalize(),
            len(sample),
            rows,
            churner_share,
            churners,
            non_churner_share,
            rows - churners,
            max_rows,
        )
    return sample


def tuning_sample(
    snapshots: Snapshots,
    *,
    first_origin: pd.Timestamp,
    horizon_days: int,
    n_validation: int,
    max_rows: int | None,
    seed: int,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The rows tuning sees: labels closing before the first backtest origin.

    The newest ``n_validation`` of those as-of dates are the validation slice,
    sampled uniformly (its churn rate, which EMPC depends on, stays the true
    one) to at most ``max_rows``; the older dates whose labels close before the
    validation slice are the fit rows, sampled like a training slice
    (:func:`training_sample`). Both are stratified by as-of date and label:
    the hash keeps the same share of each date.

    Args:
        snapshots: The model input table.
        first_origin: The first backtest origin.
        horizon_days: Label horizon in days.
        n_validation: ``tuning.n_validation_snapshots``.
        max_rows: ``tuning.max_rows`` (each of fit and validation; ``None``: all).
        seed: Seed of the row hash.
        columns: Columns to read (``None``: all).

    Returns:
        Fit and validation rows, with ``sample_weight``.
    """
    horizon = pd.Timedelta(days=horizon_days)
    counts = snapshots.label_counts()
    before = counts[counts["as_of_date"] <= first_origin - horizon]
    validation_start = pd.Timestamp(before["as_of_date"].iloc[-n_validation])
    fit = training_sample(
        snapshots,
        last=validation_start - horizon,
        max_rows=max_rows,
        seed=seed,
        columns=columns,
        what="tuning fit",
    )
    in_validation = before[before["as_of_date"] >= validation_start]
    share = uniform(int(in_validation["rows"].sum()), max_rows)
    validation = snapshots.read(
        first=validation_start,
        last=first_origin - horizon,
        share=Share(churners=share, non_churners=share, seed=seed),
        columns=columns,
        float32=True,
    )
    logger.info(
        "Tuning rows: %d fit rows up to %s, %d validation rows %s .. %s (share %.4f)",
        len(fit),
        (validation_start - horizon).date(),
        len(validation),
        validation_start.date(),
        before["as_of_date"].iloc[-1].date(),
        share,
    )
    return pd.concat([fit, validation], ignore_index=True)
