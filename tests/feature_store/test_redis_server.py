"""The Redis test server helper."""

from __future__ import annotations

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from tests import redis_server as helper


def _client(url: str) -> redis.Redis:
    host, port = url.split(":")
    return redis.Redis(
        host=host, port=int(port), socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )


def test_it_answers_without_persistence_and_stops() -> None:
    with helper.redis_server() as url:
        client = _client(url)
        assert client.ping()
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        client.close()
    with pytest.raises(redis.ConnectionError):
        _client(url).ping()


def test_a_missing_binary_says_to_run_make_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(helper.shutil, "which", lambda name: None)
    monkeypatch.setattr(helper.os, "access", lambda path, mode: False)
    with (
        pytest.raises(helper.RedisServerError, match="run `make test`"),
        helper.redis_server(),
    ):
        pass
