from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from churn_pipeline.feature_store import OnlineStoreSettings
from churn_pipeline.feature_store.settings import redis_url_to_feast


def test_defaults() -> None:
    settings = OnlineStoreSettings.from_params({})
    assert settings.kind == "sqlite"
    assert settings.sqlite_file() == Path("data/06_models/feature_repo/online_store.db")


def test_unknown_keys_are_rejected_listing_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="'sqlite_file'") as error:
        OnlineStoreSettings.from_params({"kind": "sqlite", "sqlite_file": "x.db"})
    assert "sqlite_path" in str(error.value)
    assert "redis_connection_string" in str(error.value)


def test_bad_kind_lists_the_allowed_kinds() -> None:
    with pytest.raises(ValidationError, match="kind") as error:
        OnlineStoreSettings.from_params({"kind": "postgres"})
    assert "'sqlite' or 'redis'" in str(error.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("project", "churn-pipeline"),
        ("feature_view", "account features"),
        ("max_age_days", 0),
        ("max_age_days", float("nan")),
        ("repo_path", ""),
    ],
)
def test_bad_values_name_the_key(key: str, value: object) -> None:
    with pytest.raises(ValidationError, match=key):
        OnlineStoreSettings.from_params({key: value})


def test_json_round_trip(tmp_path: Path) -> None:
    settings = OnlineStoreSettings(kind="redis", redis_connection_string="h:1,db=2")
    settings.write_json(tmp_path / "s.json")
    assert OnlineStoreSettings.read_json(tmp_path / "s.json") == settings


def test_from_environ_reads_the_stored_settings_and_overrides(tmp_path: Path) -> None:
    stored = OnlineStoreSettings(
        repo_path="elsewhere", project="p1", max_age_days=3.0, kind="sqlite"
    )
    stored.write_json(tmp_path / "churn_store.json")
    environ = {
        "CHURN_ONLINE_STORE": "redis",
        "CHURN_REDIS_URL": "redis://:s%40cret@cache.internal:6380/2",
        "CHURN_FEATURE_MAX_AGE_DAYS": "1.5",
    }
    settings = OnlineStoreSettings.from_environ(environ, tmp_path)
    assert settings.repo_path == str(tmp_path)
    assert settings.project == "p1"
    assert settings.kind == "redis"
    connection = "cache.internal:6380,db=2,password=s@cret"
    assert settings.redis_connection_string == connection
    assert settings.max_age_days == 1.5
    assert settings.location() == "cache.internal:6380"


def test_from_environ_without_stored_settings_or_variables(tmp_path: Path) -> None:
    settings = OnlineStoreSettings.from_environ({"CHURN_ONLINE_STORE": ""}, tmp_path)
    assert settings == OnlineStoreSettings(repo_path=str(tmp_path))
    assert settings.sqlite_file() == tmp_path / "online_store.db"


def test_from_environ_names_the_bad_variable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CHURN_ONLINE_STORE"):
        OnlineStoreSettings.from_environ({"CHURN_ONLINE_STORE": "memcached"}, tmp_path)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("localhost:6379,db=0", "localhost:6379,db=0"),
        ("redis://cache:6379", "cache:6379"),
        (
            "rediss://user:pw@cache/1",
            "cache:6379,db=1,username=user,password=pw,ssl=true",
        ),
    ],
)
def test_redis_urls_become_feast_connection_strings(url: str, expected: str) -> None:
    assert redis_url_to_feast(url) == expected
