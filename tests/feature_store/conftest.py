"""Fixtures: a Redis server and settings for fresh generated repositories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from tests.feature_store.frames import MakeSettings
from tests.redis_server import RedisServerError, redis_server

from churn_pipeline.feature_store import OnlineStoreSettings


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis server for the session (fails, not skips, when not installed)."""
    try:
        with redis_server() as url:
            yield url
    except RedisServerError as error:
        pytest.fail(str(error))


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    """The session's Redis, emptied for this test."""
    host, port = redis_url.split(":")
    client = redis.Redis(host=host, port=int(port))
    client.flushall()
    client.close()
    return redis_url


@pytest.fixture
def make_settings(tmp_path: Path, request: pytest.FixtureRequest) -> MakeSettings:
    """Settings for a fresh repository under tmp_path (Redis started on demand)."""

    def make(kind: str, **overrides: object) -> OnlineStoreSettings:
        values: dict[str, object] = {"kind": kind, "repo_path": str(tmp_path / "repo")}
        if kind == "redis":
            values["redis_connection_string"] = request.getfixturevalue("clean_redis")
        return OnlineStoreSettings.model_validate(values | overrides)

    return make
