"""Exact duplicate rows of a customer table, and the folds that respect them.

Two rows with the same features and label are the same customer entered twice,
or two customers the model cannot tell apart. Either way, random folds that put
one copy in training and the other in test reward memorising: ``group`` keeps
copies in the same fold (``StratifiedGroupKFold``), ``drop`` keeps the first
copy only, ``keep`` uses plain ``StratifiedKFold`` and says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

KEEP, DROP, GROUP = "keep", "drop", "group"
DUPLICATE_MODES = (KEEP, DROP, GROUP)
DUPLICATE_RULE = "duplicate_row"
# Example row numbers shown in the warning.
N_EXAMPLES = 5


def duplicate_copies(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """Rows that repeat an earlier row exactly over ``columns``.

    Missing values compare equal to each other, as in ``DataFrame.duplicated``.

    Args:
        frame: The table.
        columns: The columns compared (features and label, never the id).

    Returns:
        True for every copy after the first, aligned with ``frame``.
    """
    return frame.duplicated(subset=list(columns), keep="first")


def duplicate_groups(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """One group number per distinct row over ``columns``: copies share one.

    Args:
        frame: The table.
        columns: The columns compared (features and label, never the id).

    Returns:
        Integer group of each row, in ``frame``'s order.
    """
    groups = frame.groupby(list(columns), dropna=False, sort=False).ngroup()
    return groups.to_numpy()


def stratified_splits(
    y: np.ndarray,
    n_splits: int,
    *,
    groups: np.ndarray | None,
    random_state: int,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffled stratified folds; grouped when ``groups`` is given.

    Args:
        y: Binary labels.
        n_splits: Number of folds.
        groups: Group of each row (copies share one), or ``None``.
        random_state: Seed of the shuffle.

    Yields:
        (training positions, test positions) per fold.

    Raises:
        ValueError: If a class has fewer rows (or groups) than folds.
    """
    y = np.asarray(y, dtype=int)
    smallest = int(np.bincount(y, minlength=2).min())
    if smallest < n_splits:
        raise ValueError(
            f"{n_splits} stratified folds need at least {n_splits} rows of each "
            f"class; the smaller class has {smallest}"
        )
    if groups is None:
        folds = StratifiedKFold(n_splits, shuffle=True, random_state=random_state)
        yield from folds.split(np.zeros(len(y)), y)
        return
    grouped = StratifiedGroupKFold(n_splits, shuffle=True, random_state=random_state)
    yield from grouped.split(np.zeros(len(y)), y, groups)
