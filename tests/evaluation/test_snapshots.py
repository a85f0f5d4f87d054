"""Snapshot slices read through DuckDB: the same rows from a file or a frame,
a deterministic churners-first sample, weights that add back to the slice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.models import synthetic

from churn_pipeline.datasets.parquet_table import ParquetTable
from churn_pipeline.evaluation.snapshots import (
    SAMPLE_WEIGHT,
    Share,
    Snapshots,
    class_shares,
    training_sample,
    tuning_sample,
    uniform,
    weights_of,
)

DATES = pd.date_range("2023-08-31", periods=8, freq="ME")
LAST = DATES[5]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return synthetic.make_snapshots(DATES, 400, seed=21)


@pytest.fixture(scope="module")
def parquet(table: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snapshots") / "model_input_table.parquet"
    table.to_parquet(path)
    return path


@pytest.fixture(params=["frame", "file"])
def snapshots(request: pytest.FixtureRequest, table: pd.DataFrame, parquet: Path):
    data = table if request.param == "frame" else ParquetTable(str(parquet))
    return Snapshots(data)


def _full_counts(table: pd.DataFrame, last: pd.Timestamp) -> pd.DataFrame:
    inside = table[table["as_of_date"] <= last]
    return inside.groupby(["as_of_date", "label"]).size().rename("rows")


@pytest.mark.parametrize(
    ("churners", "non_churners", "cap", "shares"),
    [
        (10, 90, None, (1.0, 1.0)),  # no cap
        (10, 90, 100, (1.0, 1.0)),  # fits exactly
        (10, 90, 55, (1.0, 0.5)),  # 10 churners + 45 of 90
        (30, 90, 40, (20 / 30, 20 / 90)),  # churners over half: half the cap each
        (10, 0, 5, (2 / 10, 1.0)),  # no non-churner to sample
        # A million accounts: the fit stays at the cap, not at the churners.
        (232_000, 9_000_000, 40_000, (20_000 / 232_000, 20_000 / 9_000_000)),
    ],
)
def test_class_shares_bound_the_slice_and_keep_churners_first(
    churners: int, non_churners: int, cap: int | None, shares: tuple[float, float]
) -> None:
    got = class_shares(churners, non_churners, cap)

    assert got == pytest.approx(shares)
    if cap is not None and non_churners:
        kept = churners * got[0] + non_churners * got[1]
        assert kept <= max(cap, 1) + 1e-9


@pytest.mark.parametrize(
    ("rows", "cap", "share"), [(100, None, 1.0), (100, 100, 1.0), (100, 25, 0.25)]
)
def test_uniform_share(rows: int, cap: int | None, share: float) -> None:
    assert uniform(rows, cap) == pytest.approx(share)


def test_label_counts_are_per_labelled_date(
    snapshots: Snapshots, table: pd.DataFrame
) -> None:
    counts = snapshots.label_counts()

    assert list(counts["as_of_date"]) == list(DATES)
    expected = table.groupby("as_of_date")["label"].agg(["size", "sum"])
    assert counts["rows"].tolist() == expected["size"].tolist()
    assert counts["churners"].tolist() == expected["sum"].astype(int).tolist()


def test_file_and_frame_give_the_same_sample(
    table: pd.DataFrame, parquet: Path
) -> None:
    share = Share(non_churners=0.3, seed=7)
    from_frame = Snapshots(table).read(last=LAST, share=share, float32=True)
    from_file = Snapshots(ParquetTable(str(parquet))).read(
        last=LAST, share=share, float32=True
    )

    pd.testing.assert_frame_equal(from_frame, from_file)


def test_a_sample_keeps_every_churner_and_weighs_back_to_the_slice(
    snapshots: Snapshots, table: pd.DataFrame
) -> None:
    sample = snapshots.read(last=LAST, share=Share(non_churners=0.25, seed=3))

    full = _full_counts(table, LAST)
    churners = full.xs(1.0, level="label")
    kept = sample[sample["label"] == 1].groupby("as_of_date").size()
    assert kept.tolist() == churners.tolist()
    # Each (date, label) weighs back to exactly its rows in the full slice.
    weighted = sample.groupby(["as_of_date", "label"])[SAMPLE_WEIGHT].sum()
    np.testing.assert_allclose(weighted.to_numpy(), full.to_numpy())
    non_churners = (sample["label"] == 0).sum()
    assert 0.15 < non_churners / full.xs(0.0, level="label").sum() < 0.35
    assert (sample.loc[sample["label"] == 1, SAMPLE_WEIGHT] == 1.0).all()


def test_a_sample_of_both_classes_weighs_each_back_to_the_slice(
    snapshots: Snapshots, table: pd.DataFrame
) -> None:
    share = Share(churners=0.5, non_churners=0.25, seed=3)
    sample = snapshots.read(last=LAST, share=share)

    full = _full_counts(table, LAST)
    weighted = sample.groupby(["as_of_date", "label"])[SAMPLE_WEIGHT].sum()
    np.testing.assert_allclose(weighted.to_numpy(), full.to_numpy())
    kept = sample.groupby("label").size() / full.groupby(level="label").sum()
    assert 0.3 < kept[1.0] < 0.7
    assert 0.15 < kept[0.0] < 0.35


def test_a_seed_gives_the_same_sample_and_another_seed_another(
    snapshots: Snapshots,
) -> None:
    def keys(seed: int) -> set[tuple[str, pd.Timestamp]]:
        sample = snapshots.read(last=LAST, share=Share(non_churners=0.3, seed=seed))
        return set(zip(sample["account_id"], sample["as_of_date"], strict=True))

    assert keys(1) == keys(1)
    assert keys(1) != keys(2)


def test_float32_reads_only_the_numeric_features_as_float32(
    snapshots: Snapshots,
) -> None:
    rows = snapshots.read(last=LAST, float32=True)

    assert rows["logins_30d"].dtype == np.float32
    assert rows["tenure_days"].dtype == np.float32
    assert rows["label"].dtype == np.float64
    assert rows["plan"].dtype == object
    assert (rows[SAMPLE_WEIGHT] == 1.0).all()
    assert weights_of(rows) is None


def test_columns_are_projected_with_the_keys_first(snapshots: Snapshots) -> None:
    rows = snapshots.read(first=LAST, last=LAST, columns=["plan", "logins_30d"])

    assert list(rows.columns) == [
        "account_id",
        "as_of_date",
        "label",
        "plan",
        "logins_30d",
        SAMPLE_WEIGHT,
    ]
    assert set(rows["as_of_date"]) == {LAST}


def test_a_missing_column_is_named(snapshots: Snapshots) -> None:
    with pytest.raises(ValueError, match=r"lacks columns \['logins_365d'\]"):
        snapshots.read(columns=["logins_365d"])


def test_sampling_needs_an_account_id(table: pd.DataFrame) -> None:
    without = Snapshots(table.drop(columns="account_id"))

    with pytest.raises(ValueError, match="needs an account_id column"):
        without.read(share=Share(non_churners=0.5))


def test_unlabelled_rows_are_never_read_as_labelled() -> None:
    labelled = synthetic.make_snapshots(DATES[:3], 50, seed=1)
    unlabelled = synthetic.make_snapshots(DATES[3:5], 50, seed=2, labelled=False)
    snapshots = Snapshots(pd.concat([labelled, unlabelled], ignore_index=True))

    assert snapshots.labelled_dates() == list(DATES[:3])
    assert len(snapshots.read()) == len(labelled)
    scoring = snapshots.scoring_rows()
    assert set(scoring["as_of_date"]) == {DATES[4]}
    assert not scoring["is_labelled"].any()


def test_training_sample_is_capped(snapshots: Snapshots, table: pd.DataFrame) -> None:
    inside = table[table["as_of_date"] <= LAST]
    cap = len(inside) // 4

    sample = training_sample(snapshots, last=LAST, max_rows=cap, seed=0)

    # The hash keeps about the share asked for: within a few standard errors.
    n_non = (inside["label"] == 0).sum()
    share = (cap - inside["label"].sum()) / n_non
    assert abs(len(sample) - cap) < 5 * np.sqrt(n_non * share * (1 - share))
    assert sample["label"].sum() == inside["label"].sum()
    uncapped = training_sample(snapshots, last=LAST, max_rows=None, seed=0)
    assert len(uncapped) == len(inside)


def test_a_cap_below_twice_the_churners_samples_churners_too(
    snapshots: Snapshots, table: pd.DataFrame
) -> None:
    inside = table[table["as_of_date"] <= LAST]
    churners = int(inside["label"].sum())
    cap = churners  # half for each class

    sample = training_sample(snapshots, last=LAST, max_rows=cap, seed=0)

    kept = int(sample["label"].sum())
    assert abs(kept - cap / 2) < 5 * np.sqrt(cap / 4)
    assert abs(len(sample) - cap) < 5 * np.sqrt(cap)
    weighted = sample.groupby("label")[SAMPLE_WEIGHT].sum()
    assert weighted[1.0] == pytest.approx(churners)
    assert weighted[0.0] == pytest.approx(len(inside) - churners)


def test_tuning_sample_stays_before_the_first_origin(snapshots: Snapshots) -> None:
    first_origin = DATES[-2]
    horizon = synthetic.HORIZON_DAYS

    rows = tuning_sample(
        snapshots,
        first_origin=first_origin,
        horizon_days=horizon,
        n_validation=2,
        max_rows=300,
        seed=0,
    )

    closes = rows["as_of_date"] + pd.Timedelta(days=horizon)
    assert (closes <= first_origin).all()
    validation_dates = sorted(rows["as_of_date"].unique())[-2:]
    validation = rows[rows["as_of_date"].isin(validation_dates)]
    fit = rows[~rows["as_of_date"].isin(validation_dates)]
    assert len(validation) <= 300 * 1.2 and len(fit) <= 300 * 1.2
    # Validation is a uniform share: both classes weigh back alike.
    weights = validation.groupby("label")[SAMPLE_WEIGHT].mean()
    assert weights[0.0] == pytest.approx(weights[1.0], rel=0.3)


def test_a_directory_of_parts_is_read_as_one_table(
    table: pd.DataFrame, tmp_path: Path
) -> None:
    # What Spark writes: one file per partition under a directory.
    folder = tmp_path / "model_input_table.parquet"
    folder.mkdir()
    for index, (_, part) in enumerate(table.groupby("as_of_date")):
        part.to_parquet(folder / f"part-{index:05d}.parquet")

    counts = Snapshots(ParquetTable(str(folder))).label_counts()

    assert counts["rows"].sum() == len(table)
    assert list(counts["as_of_date"]) == list(DATES)
