"""Slices of rows for work done a batch at a time, so memory follows the batch.

Scoring, explaining, writing the online store and looking up account states
each handle one row (or one account) independently; over a million accounts
the copies they make, not the rows, would set the run's peak memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

logger = logging.getLogger(__name__)


def row_batches(
    n_rows: int, batch_rows: int, *, progress: str | None = None
) -> Iterator[slice]:
    """Consecutive slices of at most ``batch_rows`` covering ``range(n_rows)``.

    No rows give one empty slice, so results gathered per batch still combine
    into an (empty) result of the right shape.

    Args:
        n_rows: Rows to cover.
        batch_rows: Largest slice.
        progress: What is being done; when given and there is more than one
            batch, ``"<progress>: <done> of <n_rows> rows"`` is logged after
            each batch is handled.

    Raises:
        ValueError: If ``batch_rows`` is below 1.
    """
    # Checked here, not in the generator, so a bad size fails at the call.
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be >= 1, got {batch_rows}")
    return _slices(n_rows, batch_rows, progress)


def _slices(n_rows: int, batch_rows: int, progress: str | None) -> Iterator[slice]:
    if n_rows <= 0:
        yield slice(0, 0)
        return
    for start in range(0, n_rows, batch_rows):
        stop = min(start + batch_rows, n_rows)
        yield slice(start, stop)
        # After the yield: the caller has finished this batch.
        if progress and n_rows > batch_rows:
            logger.info("%s: %d of %d rows", progress, stop, n_rows)
