"""Feast's online-store encodings: entity keys, values and timestamps.

The reader reads the rows Feast wrote without going through Feast's SDK, so it
encodes keys and decodes values with Feast's own helpers and protobufs.
"""

from __future__ import annotations

from datetime import UTC, datetime

from feast.infra.key_encoding_utils import serialize_entity_key
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from google.protobuf.timestamp_pb2 import Timestamp

from churn_pipeline.feature_store.repo import (
    ENTITY_KEY_SERIALIZATION_VERSION,
    JOIN_KEY,
)

_NUMERIC_KINDS = frozenset(
    {"double_val", "float_val", "int64_val", "int32_val", "bool_val"}
)
_EMPTY_KINDS = frozenset({None, "null_val"})


def entity_key(account_id: str) -> bytes:
    """Feast's serialized entity key of an account (SQLite row key, Redis prefix)."""
    proto = EntityKeyProto(
        join_keys=[JOIN_KEY], entity_values=[ValueProto(string_val=account_id)]
    )
    return serialize_entity_key(
        proto, entity_key_serialization_version=ENTITY_KEY_SERIALIZATION_VERSION
    )


def decode_value(blob: bytes | None) -> float | str | None:
    """A serialized ``feast.types.Value``: numbers as float, text as str, else None.

    Raises:
        TypeError: For value kinds the account features never hold (lists, maps).
    """
    if not blob:
        return None
    proto = ValueProto()
    proto.ParseFromString(blob)
    kind = proto.WhichOneof("val")
    if kind in _EMPTY_KINDS:
        return None
    if kind == "string_val":
        return proto.string_val
    if kind in _NUMERIC_KINDS:
        return float(getattr(proto, kind))
    raise TypeError(f"Unexpected Feast value kind {kind!r} in the online store")


def sqlite_event_time(stored: int | float | str) -> datetime:
    """The ``event_ts`` column of Feast's SQLite store as an aware UTC datetime.

    Feast stores the naive UTC timestamp through ``datetime.timestamp()`` (so in
    the local time zone) and reads it back with ``datetime.fromtimestamp``;
    doing the same keeps the value Feast itself would return.
    """
    if isinstance(stored, str):
        moment = datetime.fromisoformat(stored)
        if moment.tzinfo is not None:
            return moment.astimezone(UTC)
    else:
        moment = datetime.fromtimestamp(int(stored))  # local time, as Feast
    return moment.replace(tzinfo=UTC)


def redis_event_time(blob: bytes) -> datetime:
    """The ``_ts:<view>`` hash field of Feast's Redis store as an aware UTC datetime."""
    stamp = Timestamp()
    stamp.ParseFromString(blob)
    return datetime.fromtimestamp(stamp.seconds + stamp.nanos / 1e9, tz=UTC)
