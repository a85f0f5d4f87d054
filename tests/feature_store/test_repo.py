"""The generated Feast repository, used by Feast's own CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from feast.types import Float64, String
from tests.feature_store.frames import (
    CATEGORICAL,
    NUMERIC,
    MakeSettings,
    expected_values,
    feature_frame,
    write_repo,
)

from churn_pipeline.feature_store import (
    OnlineFeatureReader,
    OnlineStoreSettings,
    write_feature_repo,
)
from churn_pipeline.feature_store.repo import load_definitions

FEAST = Path(sys.executable).with_name("feast")


def test_generated_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = OnlineStoreSettings(repo_path="models/repo", project="churn_test")
    repo = write_feature_repo(
        settings,
        numeric=NUMERIC,
        categorical=CATEGORICAL,
        offline_source="features/pit.parquet",
    )
    assert repo == Path("models/repo")
    config = yaml.safe_load((repo / "feature_store.yaml").read_text())
    assert config == {
        "project": "churn_test",
        "registry": "registry.db",
        "provider": "local",
        "online_store": {"type": "sqlite", "path": "online_store.db"},
        "offline_store": {"type": "file"},
        "entity_key_serialization_version": 3,
    }
    assert OnlineStoreSettings.read_json(repo / "churn_store.json") == settings
    definitions = load_definitions(repo)
    assert definitions.entity.join_key == "account_id"
    assert definitions.source.path == "../../features/pit.parquet"
    assert definitions.source.timestamp_field == "as_of_date"
    view = definitions.feature_view
    assert view.name == "account_features"
    assert [(f.name, f.dtype) for f in view.features] == [
        *((name, Float64) for name in NUMERIC),
        *((name, String) for name in CATEGORICAL),
    ]


def test_redis_config(make_settings: MakeSettings) -> None:
    settings = OnlineStoreSettings(
        kind="redis",
        repo_path=make_settings("sqlite").repo_path,
        redis_connection_string="cache:6379,db=1",
    )
    repo = write_repo(settings)
    config = yaml.safe_load((repo / "feature_store.yaml").read_text())
    assert config["online_store"] == {
        "type": "redis",
        "connection_string": "cache:6379,db=1",
        "skip_dedup": True,
    }


@pytest.mark.parametrize(
    ("numeric", "categorical", "message"),
    [
        ([], [], "No features"),
        (["a", "a"], [], "more than once"),
        (["a"], ["a"], "more than once"),
        (["account_id"], [], "reserved"),
        (["view:a"], [], "containing ':'"),
    ],
)
def test_bad_feature_lists(
    make_settings: MakeSettings,
    numeric: list[str],
    categorical: list[str],
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        write_feature_repo(
            make_settings("sqlite"),
            numeric=numeric,
            categorical=categorical,
            offline_source="x.parquet",
        )


def _feast(repo: Path, *args: str) -> None:
    done = subprocess.run(
        [str(FEAST), *args], cwd=repo, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_feast_cli_apply_and_materialize_fill_the_store(
    make_settings: MakeSettings,
) -> None:
    settings = make_settings("sqlite")
    older, newer = feature_frame("2024-02-01", offset=-1.0), feature_frame("2024-03-01")
    offline = pd.concat([older, newer], ignore_index=True)
    repo = write_repo(settings, offline)

    _feast(repo, "apply")
    _feast(repo, "materialize", "2024-01-01T00:00:00", "2024-12-31T00:00:00")

    reader = OnlineFeatureReader(settings)
    stored = reader.read(["A1", "A2", "A3", "A9"])
    assert reader.manifest() is None
    assert {account: s.values for account, s in stored.items()} == expected_values(
        newer
    )
    assert {s.as_of for s in stored.values()} == {pd.Timestamp("2024-03-01", tz="UTC")}
    assert json.loads((repo / "churn_store.json").read_text())["kind"] == "sqlite"
