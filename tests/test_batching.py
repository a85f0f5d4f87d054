"""Row batches cover every row once, and report progress on long work."""

from __future__ import annotations

import logging

import pytest

from churn_pipeline.batching import row_batches


@pytest.mark.parametrize(
    ("n_rows", "batch_rows", "expected"),
    [
        (0, 3, [(0, 0)]),
        (1, 3, [(0, 1)]),
        (3, 3, [(0, 3)]),
        (7, 3, [(0, 3), (3, 6), (6, 7)]),
    ],
)
def test_row_batches_cover_every_row_once(n_rows, batch_rows, expected):
    got = [(s.start, s.stop) for s in row_batches(n_rows, batch_rows)]
    assert got == expected


@pytest.mark.parametrize("batch_rows", [0, -2])
def test_a_batch_of_no_rows_is_refused(batch_rows):
    # At the call, before any batch is asked for.
    with pytest.raises(ValueError, match=f"batch_rows must be >= 1, got {batch_rows}"):
        row_batches(5, batch_rows)


def test_progress_is_logged_after_each_of_several_batches(caplog):
    with caplog.at_level(logging.INFO, logger="churn_pipeline.batching"):
        list(row_batches(7, 3, progress="Scoring"))
    assert [r.getMessage() for r in caplog.records] == [
        "Scoring: 3 of 7 rows",
        "Scoring: 6 of 7 rows",
        "Scoring: 7 of 7 rows",
    ]


def test_one_batch_logs_no_progress(caplog):
    with caplog.at_level(logging.INFO, logger="churn_pipeline.batching"):
        list(row_batches(3, 3, progress="Scoring"))
    assert caplog.records == []
