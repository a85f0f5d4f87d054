"""write_online, then OnlineFeatureReader, on SQLite and on a real Redis."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from tests.feature_store.frames import (
    CATEGORICAL,
    KINDS,
    NUMERIC,
    MakeSettings,
    expected_values,
    feature_frame,
    write_repo,
)

from churn_pipeline.feature_store import (
    OnlineFeatureReader,
    OnlineStoreSettings,
    StoredFeatures,
    write_online,
)
from churn_pipeline.feature_store.repo import load_definitions

MARCH = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(make_settings: MakeSettings, kind: str) -> None:
    settings = make_settings(kind)
    write_repo(settings)
    frame = feature_frame("2024-03-01")
    before = datetime.now(UTC)

    manifest = write_online(settings, frame, numeric=NUMERIC, categorical=CATEGORICAL)

    reader = OnlineFeatureReader(settings)
    reader.ping()
    stored = reader.read(["A3", "A1", "nobody", "A2", "A1"])
    assert set(stored) == {"A1", "A2", "A3"}
    assert {a: s.values for a, s in stored.items()} == expected_values(frame)
    assert stored["A2"].values["mrr"] is None
    assert stored["A3"].values["country"] is None
    assert stored["A3"].values["mrr"] == 0.1 + 0.2
    assert all(s.as_of == MARCH for s in stored.values())
    assert reader.read([]) == {}
    assert reader.read(["nobody"]) == {}
    assert reader.manifest() == manifest
    assert manifest.as_of_date == MARCH
    assert manifest.n_accounts == 3
    assert before <= manifest.written_at <= datetime.now(UTC)
    assert manifest.feature_view == "account_features"
    assert manifest.features == (*NUMERIC, *CATEGORICAL)
    reader.close()


@pytest.mark.parametrize("kind", KINDS)
def test_a_newer_write_replaces_values_and_manifest(
    make_settings: MakeSettings, kind: str
) -> None:
    settings = make_settings(kind)
    write_repo(settings)
    write_online(
        settings,
        feature_frame("2024-03-01"),
        numeric=NUMERIC,
        categorical=CATEGORICAL,
    )
    reader = OnlineFeatureReader(settings)
    assert reader.read(["A1"])["A1"].values["mrr"] == 500.0

    newer = feature_frame("2024-03-02", offset=1.0)
    newer.loc[1, "mrr"] = 7.0  # A2's null becomes a value
    newer.loc[0, "plan"] = None  # A1's plan becomes null
    write_online(settings, newer, numeric=NUMERIC, categorical=CATEGORICAL)

    stored = reader.read(["A1", "A2", "A3"])
    assert {a: s.values for a, s in stored.items()} == expected_values(newer)
    assert {s.as_of for s in stored.values()} == {MARCH + timedelta(days=1)}
    manifest = reader.manifest()
    assert manifest is not None
    assert manifest.as_of_date == MARCH + timedelta(days=1)


@pytest.mark.parametrize("kind", KINDS)
def test_a_write_in_batches_stores_every_account(
    make_settings: MakeSettings, kind: str
) -> None:
    settings = make_settings(kind)
    frame = feature_frame("2024-03-01")

    manifest = write_online(
        settings, frame, numeric=NUMERIC, categorical=CATEGORICAL, batch_rows=2
    )

    reader = OnlineFeatureReader(settings)
    stored = reader.read(["A1", "A2", "A3"])
    assert {a: s.values for a, s in stored.items()} == expected_values(frame)
    assert manifest.n_accounts == 3
    assert reader.manifest() == manifest
    reader.close()


def test_a_batch_of_no_rows_is_refused(make_settings: MakeSettings) -> None:
    with pytest.raises(ValueError, match="batch_rows must be >= 1, got 0"):
        write_online(
            make_settings("sqlite"),
            feature_frame("2024-03-01"),
            numeric=NUMERIC,
            categorical=CATEGORICAL,
            batch_rows=0,
        )


@pytest.mark.parametrize("kind", KINDS)
def test_reads_from_many_threads(make_settings: MakeSettings, kind: str) -> None:
    settings = make_settings(kind)
    write_repo(settings)
    frame = feature_frame("2024-03-01")
    write_online(settings, frame, numeric=NUMERIC, categorical=CATEGORICAL)
    reader = OnlineFeatureReader(settings)
    ids = [["A1"], ["A2", "A3"], ["A3", "nobody"], ["A1", "A2", "A3"]] * 10

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(reader.read, ids))

    expected = expected_values(frame)
    for wanted, result in zip(ids, results, strict=True):
        assert {a: s.values for a, s in result.items()} == {
            a: expected[a] for a in wanted if a in expected
        }
    reader.close()


def test_a_reader_started_before_the_first_write_sees_it(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings("redis")
    reader = OnlineFeatureReader(settings)
    assert reader.manifest() is None
    assert reader.read(["A1"]) == {}
    write_repo(settings)
    frame = feature_frame("2024-03-01")
    write_online(settings, frame, numeric=NUMERIC, categorical=CATEGORICAL)
    assert reader.read(["A1"])["A1"].values == expected_values(frame)["A1"]


def test_staleness(make_settings: MakeSettings) -> None:
    reader = OnlineFeatureReader(make_settings("sqlite", max_age_days=2.0))
    stored = StoredFeatures(as_of=MARCH, values={})
    assert not reader.is_stale(stored, now=MARCH + timedelta(days=2))
    assert reader.is_stale(stored, now=MARCH + timedelta(days=2, seconds=1))


def test_integer_and_categorical_coercion(make_settings: MakeSettings) -> None:
    settings = make_settings("sqlite")
    write_repo(settings)
    frame = feature_frame("2024-03-01")
    frame["seats"] = pd.array([10, None, 50], dtype="Int64")
    frame["plan"] = pd.Series([1, 2, None], dtype=object)
    write_online(settings, frame, numeric=NUMERIC, categorical=CATEGORICAL)
    stored = OnlineFeatureReader(settings).read(["A1", "A2", "A3"])
    assert [stored[a].values["seats"] for a in ("A1", "A2", "A3")] == [10.0, None, 50.0]
    assert [stored[a].values["plan"] for a in ("A1", "A2", "A3")] == ["1", "2", None]
    assert isinstance(stored["A1"].values["seats"], float)
    assert not any(
        isinstance(v, float) and math.isnan(v)
        for s in stored.values()
        for v in s.values.values()
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["plan"]), "lacks columns"),
        (lambda f: f.iloc[0:0], "no rows"),
        (lambda f: f.assign(account_id=["A1", "A1", "A3"]), "more than once"),
        (lambda f: f.assign(account_id=["A1", None, "A3"]), "null account_id"),
        (lambda f: f.assign(as_of_date=[MARCH, None, MARCH]), "null as_of_date"),
        (lambda f: f.assign(mrr=["1", "x", "2"]), "'mrr' holds non-numbers"),
    ],
)
def test_malformed_frames_are_rejected(
    make_settings: MakeSettings, change, message: str
) -> None:
    settings = make_settings("sqlite")
    write_repo(settings)
    frame = change(feature_frame("2024-03-01"))
    with pytest.raises(ValueError, match=message):
        write_online(settings, frame, numeric=NUMERIC, categorical=CATEGORICAL)


def test_write_online_generates_a_missing_repository(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings("sqlite")
    frame = feature_frame("2024-03-01")
    write_online(settings, frame, numeric=NUMERIC, categorical=CATEGORICAL)

    repo = Path(settings.repo_path)
    assert OnlineStoreSettings.read_json(repo / "churn_store.json") == settings
    definitions = load_definitions(repo)
    assert definitions.source.path == "offline/account_features.parquet"
    offline = pd.read_parquet(repo / definitions.source.path)
    assert offline["account_id"].tolist() == ["A1", "A2", "A3"]
    stored = OnlineFeatureReader(settings).read(["A1"])
    assert stored["A1"].values == expected_values(frame)["A1"]


def test_write_online_regenerates_a_repository_for_other_features(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings("sqlite")
    repo = write_repo(settings)
    source = load_definitions(repo).source.path
    frame = feature_frame("2024-03-01")

    write_online(settings, frame, numeric=NUMERIC[:2], categorical=CATEGORICAL)

    definitions = load_definitions(repo)
    assert definitions.source.path == source
    assert [f.name for f in definitions.feature_view.features] == [
        *NUMERIC[:2],
        *CATEGORICAL,
    ]
    stored = OnlineFeatureReader(settings).read(["A1"])
    assert set(stored["A1"].values) == {*NUMERIC[:2], *CATEGORICAL}

    other = settings.model_copy(update={"project": "other"})
    write_online(other, frame, numeric=NUMERIC, categorical=CATEGORICAL)
    assert OnlineStoreSettings.read_json(repo / "churn_store.json") == other
    assert load_definitions(repo).source.path == source
