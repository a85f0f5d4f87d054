"""Direct access to the SQLite file Feast's SQLite online store writes.

Feast keeps a feature view in table ``<project>_<view>`` with one row per
(entity key, feature): the serialized ``Value`` and the event timestamp. The
reader selects those rows itself (one query per call) instead of going through
Feast's SDK. Each thread gets its own connection.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from feast.infra.online_stores.helpers import compute_table_id
from google.protobuf.message import DecodeError

from churn_pipeline.feature_store.encoding import (
    decode_value,
    entity_key,
    sqlite_event_time,
)
from churn_pipeline.feature_store.models import StoredFeatures, StoreUnavailable
from churn_pipeline.feature_store.settings import OnlineStoreSettings

MANIFEST_TABLE = "churn_store_manifest"
# Keys per SELECT; far below SQLite's limit on bound parameters.
_CHUNK = 500


class SqliteStore:
    """Reads feature rows and the manifest from Feast's SQLite online store."""

    kind = "sqlite"

    def __init__(self, settings: OnlineStoreSettings, *, timeout: float = 1.0):
        """Open nothing yet: connections are made per thread on first use.

        Args:
            settings: The store settings.
            timeout: Seconds to wait for a lock held by a writer.
        """
        self.path = settings.sqlite_file().resolve()
        view = SimpleNamespace(name=settings.feature_view)
        self._table = compute_table_id(settings.project, view)
        self._scope = (settings.project, settings.feature_view)
        self._timeout = timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def fetch(
        self, account_ids: Sequence[str], features: Sequence[str]
    ) -> dict[str, StoredFeatures]:
        """:meth:`StoreAccess.fetch`: one SELECT per ``_CHUNK`` accounts."""
        keys = {entity_key(account_id): account_id for account_id in account_ids}
        ordered = list(keys)
        rows: list[tuple[bytes, str, bytes, int]] = []
        with self._errors("read features"):
            connection = self._connection()
            for start in range(0, len(ordered), _CHUNK):
                chunk = ordered[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows += connection.execute(
                    "SELECT entity_key, feature_name, value, event_ts "
                    f'FROM "{self._table}" WHERE entity_key IN ({marks})',
                    chunk,
                ).fetchall()
            return _collect(rows, keys, features)

    def read_manifest(self) -> str | None:
        """The manifest JSON the writer stored, or None."""
        with self._errors("read the manifest"):
            connection = self._connection()
            exists = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                (MANIFEST_TABLE,),
            ).fetchone()
            if exists is None:
                return None
            row = connection.execute(
                f"SELECT manifest FROM {MANIFEST_TABLE} "
                "WHERE project = ? AND feature_view = ?",
                self._scope,
            ).fetchone()
        return None if row is None else row[0]

    def write_manifest(self, text: str) -> None:
        """Store the manifest JSON (one row per project and feature view)."""
        with self._errors("write the manifest"):
            connection = self._connection()
            connection.execute(
                f"CREATE TABLE IF NOT EXISTS {MANIFEST_TABLE} (project TEXT, "
                "feature_view TEXT, manifest TEXT NOT NULL, "
                "PRIMARY KEY (project, feature_view))"
            )
            connection.execute(
                f"INSERT INTO {MANIFEST_TABLE} VALUES (?, ?, ?) ON CONFLICT"
                "(project, feature_view) DO UPDATE SET manifest = excluded.manifest",
                (*self._scope, text),
            )

    def ping(self) -> None:
        """Raise StoreUnavailable unless the file opens and its schema reads."""
        with self._errors("open the database"):
            self._connection().execute("SELECT count(*) FROM sqlite_master").fetchone()

    def close(self) -> None:
        """Close every connection this object opened."""
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        if not self.path.is_file():
            raise StoreUnavailable(
                f"SQLite online store file {self.path} does not exist (has the "
                "daily scoring job written it?)"
            )
        # mode=rw: never create a missing file. Not read-only, because WAL
        # readers may need to create the shared-memory file.
        connection = sqlite3.connect(
            f"{self.path.as_uri()}?mode=rw",
            uri=True,
            timeout=self._timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
        return connection

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn SQLite errors into StoreUnavailable; reconnect next time."""
        try:
            yield
        except (sqlite3.Error, DecodeError) as error:
            self._drop_connection()
            raise StoreUnavailable(
                f"SQLite online store {self.path}: cannot {action}: {error}"
            ) from error

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            return
        self._local.connection = None
        with self._lock:
            self._connections = [c for c in self._connections if c is not connection]
        connection.close()


def use_wal(path: Path) -> None:
    """Put the SQLite file in WAL mode (created if missing).

    The setting is stored in the file: readers then never wait for the daily
    write, which otherwise locks the file for the seconds it takes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def _collect(
    rows: list[tuple[bytes, str, bytes, int]],
    keys: dict[bytes, str],
    features: Sequence[str],
) -> dict[str, StoredFeatures]:
    """Group rows by account, keeping the requested features."""
    wanted = frozenset(features)
    found: dict[str, tuple[int, dict[str, float | str | None]]] = {}
    for key, name, blob, stamp in rows:
        if name not in wanted:
            continue
        account = keys[key]
        newest, values = found.get(account, (stamp, {}))
        values[name] = decode_value(blob)
        found[account] = (max(newest, stamp), values)
    result = {}
    for account, (stamp, values) in found.items():
        ordered = {name: values.get(name) for name in features}
        result[account] = StoredFeatures(as_of=sqlite_event_time(stamp), values=ordered)
    return result
