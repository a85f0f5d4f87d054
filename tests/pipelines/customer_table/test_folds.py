"""Grouped stratified folds keep exact copies of a row in one fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_pipeline.customer_table.folds import (
    duplicate_copies,
    duplicate_groups,
    stratified_splits,
)

COLUMNS = ["months", "contract", "label"]


@pytest.fixture
def table() -> pd.DataFrame:
    """300 rows; 60 distinct rows appear 2-4 times each, missing values included."""
    rng = np.random.default_rng(11)
    n = 300
    months = rng.integers(1, 40, n).astype(float)
    months[::25] = np.nan  # missing values compare equal between copies
    frame = pd.DataFrame(
        {
            "months": months,
            "contract": rng.choice(["monthly", "yearly"], n),
            "label": (rng.random(n) < 0.3).astype(float),
        }
    )
    copies = frame.sample(60, random_state=1)
    repeats = copies.loc[copies.index.repeat(rng.integers(1, 4, 60))]
    return pd.concat([frame, repeats], ignore_index=True)


def test_copies_and_groups_agree(table):
    groups = duplicate_groups(table, COLUMNS)
    copies = duplicate_copies(table, COLUMNS)
    assert len(np.unique(groups)) == len(table) - int(copies.sum())
    first = table.drop_duplicates(COLUMNS)
    assert len(first) == len(np.unique(groups))


@pytest.mark.parametrize("n_splits", [3, 5])
def test_grouped_folds_keep_every_copy_in_one_fold(table, n_splits):
    groups = duplicate_groups(table, COLUMNS)
    y = table["label"].to_numpy(dtype=int)
    folds = list(stratified_splits(y, n_splits, groups=groups, random_state=0))
    assert len(folds) == n_splits
    tests = np.concatenate([test for _, test in folds])
    assert sorted(tests.tolist()) == list(range(len(table)))  # each row tested once
    for train, test in folds:
        assert set(groups[train]).isdisjoint(groups[test])
        # Still stratified: each test fold's churn rate near the whole table's.
        assert abs(y[test].mean() - y.mean()) < 0.08


def test_plain_folds_split_copies_across_train_and_test(table):
    # What duplicates: keep risks, and why group exists.
    groups = duplicate_groups(table, COLUMNS)
    y = table["label"].to_numpy(dtype=int)
    folds = stratified_splits(y, 5, groups=None, random_state=0)
    shared = [len(set(groups[train]) & set(groups[test])) for train, test in folds]
    assert sum(shared) > 0


def test_folds_are_reproducible(table):
    groups = duplicate_groups(table, COLUMNS)
    y = table["label"].to_numpy(dtype=int)

    def fold_tests() -> list[list[int]]:
        splits = stratified_splits(y, 3, groups=groups, random_state=4)
        return [test.tolist() for _, test in splits]

    assert fold_tests() == fold_tests()


def test_too_few_rows_of_a_class_is_named():
    y = np.array([0] * 20 + [1] * 2)
    with pytest.raises(ValueError, match="the smaller class has 2"):
        list(stratified_splits(y, 3, groups=None, random_state=0))
