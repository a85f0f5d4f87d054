"""Every store failure surfaces as StoreUnavailable naming the store."""

from __future__ import annotations

import re
import socket
import sqlite3
from pathlib import Path

import pytest
from tests.feature_store.frames import (
    CATEGORICAL,
    NUMERIC,
    MakeSettings,
    feature_frame,
    write_repo,
)
from tests.redis_server import redis_server

from churn_pipeline.feature_store import (
    OnlineFeatureReader,
    OnlineStoreSettings,
    StoreUnavailable,
    write_online,
)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _assert_all_unavailable(reader: OnlineFeatureReader, match: str) -> None:
    for call in (reader.ping, reader.manifest, lambda: reader.read(["A1"])):
        with pytest.raises(StoreUnavailable, match=match):
            call()


def test_sqlite_file_missing(tmp_path: Path) -> None:
    settings = OnlineStoreSettings(repo_path=str(tmp_path / "repo"))
    reader = OnlineFeatureReader(settings)
    _assert_all_unavailable(reader, r"SQLite online store file .*online_store\.db")
    assert not (tmp_path / "repo").exists()


def test_sqlite_file_corrupt(tmp_path: Path) -> None:
    (tmp_path / "online_store.db").write_bytes(b"not a database at all" * 100)
    settings = OnlineStoreSettings(repo_path=str(tmp_path))
    reader = OnlineFeatureReader(settings)
    _assert_all_unavailable(reader, r"SQLite online store .*not a database")


def test_writing_to_a_corrupt_sqlite_file(make_settings: MakeSettings) -> None:
    settings = make_settings("sqlite")
    write_repo(settings)
    settings.sqlite_file().write_bytes(b"not a database at all" * 100)
    frame = feature_frame("2024-03-01")
    with pytest.raises(StoreUnavailable, match=r"SQLite online store at .*database"):
        write_online(settings, frame, numeric=NUMERIC, categorical=CATEGORICAL)


def test_sqlite_file_locked(make_settings: MakeSettings) -> None:
    settings = make_settings("sqlite")
    write_repo(settings)
    frame = feature_frame("2024-03-01")
    write_online(settings, frame, numeric=NUMERIC, categorical=CATEGORICAL)
    blocker = sqlite3.connect(settings.sqlite_file(), isolation_level=None)
    blocker.execute("PRAGMA locking_mode=EXCLUSIVE")
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        reader = OnlineFeatureReader(settings, timeout=0.05)
        with pytest.raises(StoreUnavailable, match=r"SQLite online store .*locked"):
            reader.read(["A1"])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert set(reader.read(["A1"])) == {"A1"}


def test_redis_port_closed() -> None:
    port = _closed_port()
    settings = OnlineStoreSettings(
        kind="redis", redis_connection_string=f"127.0.0.1:{port},password=secret"
    )
    reader = OnlineFeatureReader(settings)
    _assert_all_unavailable(
        reader, re.escape(f"Redis online store at 127.0.0.1:{port}")
    )
    with pytest.raises(StoreUnavailable) as error:
        reader.ping()
    assert "secret" not in str(error.value)


def test_redis_stopped_after_a_read(tmp_path: Path) -> None:
    with redis_server() as url:
        settings = OnlineStoreSettings(
            kind="redis", repo_path=str(tmp_path / "repo"), redis_connection_string=url
        )
        write_repo(settings)
        frame = feature_frame("2024-03-01")
        write_online(settings, frame, numeric=NUMERIC, categorical=CATEGORICAL)
        reader = OnlineFeatureReader(settings)
        assert set(reader.read(["A1", "A2"])) == {"A1", "A2"}
    _assert_all_unavailable(reader, re.escape(f"Redis online store at {url}"))
