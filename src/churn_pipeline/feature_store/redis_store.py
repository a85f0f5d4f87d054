"""Direct access to the hashes Feast's Redis online store writes.

Feast keeps one hash per entity under ``<entity key><project>``; a feature's
field is the murmur3 hash of ``<view>:<feature>`` and ``_ts:<view>`` holds the
event timestamp. The reader asks for exactly those fields with HMGET (one
pipeline per call), with short socket timeouts so a lost Redis fails fast.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from feast.infra.online_stores.helpers import _mmh3
from feast.infra.online_stores.redis import RedisOnlineStore
from google.protobuf.message import DecodeError
from redis import Redis, RedisError
from redis.backoff import NoBackoff
from redis.retry import Retry

from churn_pipeline.feature_store.encoding import (
    decode_value,
    entity_key,
    redis_event_time,
)
from churn_pipeline.feature_store.models import StoredFeatures, StoreUnavailable
from churn_pipeline.feature_store.settings import OnlineStoreSettings

MANIFEST_KEY = "churn_store_manifest"


class RedisStore:
    """Reads feature hashes and the manifest from Feast's Redis online store."""

    kind = "redis"

    def __init__(self, settings: OnlineStoreSettings, *, timeout: float = 1.0):
        """Create the client (connections open lazily, from a pool).

        Args:
            settings: The store settings.
            timeout: Socket connect and read timeout in seconds, unless the
                connection string sets ``socket_timeout`` or
                ``socket_connect_timeout`` itself.
        """
        self.location = settings.location()
        self._client = _client(settings.redis_connection_string, timeout)
        self._project = settings.project.encode("utf-8")
        self._view = settings.feature_view
        self._manifest_key = (
            f"{settings.project}:{MANIFEST_KEY}:{settings.feature_view}"
        )

    def fetch(
        self, account_ids: Sequence[str], features: Sequence[str]
    ) -> dict[str, StoredFeatures]:
        """:meth:`StoreAccess.fetch`: one HMGET per account, pipelined."""
        names = tuple(features)
        fields = _fields(self._view, names)
        accounts = list(dict.fromkeys(account_ids))
        keys = [entity_key(account) + self._project for account in accounts]
        result = {}
        with self._errors("read features"):
            if len(keys) == 1:
                replies = [self._client.hmget(keys[0], fields)]
            else:
                with self._client.pipeline(transaction=False) as pipe:
                    for key in keys:
                        pipe.hmget(key, fields)
                    replies = pipe.execute()
            for account, reply in zip(accounts, replies, strict=True):
                if reply[-1] is None:
                    continue
                values = {
                    name: decode_value(blob)
                    for name, blob in zip(names, reply, strict=False)
                }
                as_of = redis_event_time(reply[-1])
                result[account] = StoredFeatures(as_of=as_of, values=values)
        return result

    def read_manifest(self) -> str | None:
        """The manifest JSON the writer stored, or None."""
        with self._errors("read the manifest"):
            stored = self._client.get(self._manifest_key)
        return None if stored is None else stored.decode("utf-8")

    def write_manifest(self, text: str) -> None:
        """Store the manifest JSON under ``<project>:churn_store_manifest:<view>``."""
        with self._errors("write the manifest"):
            self._client.set(self._manifest_key, text)

    def ping(self) -> None:
        """Raise StoreUnavailable unless Redis answers PING."""
        with self._errors("ping"):
            self._client.ping()

    def close(self) -> None:
        """Close the client's connections."""
        self._client.close()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn Redis errors into StoreUnavailable."""
        try:
            yield
        except (RedisError, DecodeError) as error:
            raise StoreUnavailable(
                f"Redis online store at {self.location}: cannot {action}: {error}"
            ) from error


def _client(connection_string: str, timeout: float) -> Redis:
    """A redis-py client for Feast's connection string, failing fast."""
    # Feast's own parser, so the reader connects where Feast writes.
    nodes, params = RedisOnlineStore._parse_connection_string(connection_string)
    options: dict[str, Any] = {
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
        # One immediate retry (a connection dropped by a Redis restart), not
        # redis-py's default of three with backoff (seconds when Redis is down).
        "retry": Retry(NoBackoff(), 1),
    }
    options.update(params)
    return Redis(host=nodes[0]["host"], port=int(nodes[0]["port"]), **options)


@lru_cache(maxsize=8)
def _fields(view: str, features: tuple[str, ...]) -> tuple[bytes, ...]:
    """Hash fields of ``features`` in Feast's layout, then the timestamp field."""
    hashed = tuple(_mmh3(f"{view}:{name}") for name in features)
    return (*hashed, f"_ts:{view}".encode())
