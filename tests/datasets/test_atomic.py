"""Atomic saves: a temporary sibling, renamed onto the target only when complete."""

from __future__ import annotations

import json
import pickle

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import mlflow
import pandas as pd
import pytest
from kedro.io import DatasetError
from kedro.io.core import Version
from kedro_mlflow.io.artifacts import MlflowArtifactDataset

from churn_pipeline.datasets import (
    AtomicCSVDataset,
    AtomicJSONDataset,
    AtomicMatplotlibDataset,
    AtomicParquetDataset,
    AtomicPickleDataset,
    AtomicTextDataset,
)

FRAME = pd.DataFrame({"account_id": ["a", "b"], "mrr": [10.0, 20.5]})


def _figure():
    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    return figure


CASES = [
    pytest.param(AtomicParquetDataset, "t.parquet", FRAME, id="parquet"),
    pytest.param(AtomicCSVDataset, "t.csv", FRAME, id="csv"),
    pytest.param(AtomicJSONDataset, "t.json", {"metric": 0.5}, id="json"),
    pytest.param(AtomicTextDataset, "t.txt", "# Model card\n", id="text"),
    pytest.param(AtomicPickleDataset, "t.pkl", {"weights": [1, 2]}, id="pickle"),
]


def _equal(loaded, expected):
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(loaded, expected)
    else:
        assert loaded == expected


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize(("cls", "name", "data"), CASES)
def test_round_trip_leaves_only_the_target(tmp_path, cls, name, data):
    kwargs = {"save_args": {"index": False}} if cls is AtomicCSVDataset else {}
    dataset = cls(filepath=str(tmp_path / "out" / name), **kwargs)
    dataset.save(data)
    _equal(dataset.load(), data)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [name]


class _Unpicklable:
    """Pickling writes some bytes, then fails."""

    def __reduce__(self):
        raise RuntimeError("cannot pickle this")


FAILING = [
    # Each writes part of the file before it raises.
    pytest.param(
        AtomicParquetDataset,
        pd.DataFrame({"x": [1, object()]}),
        id="parquet",
    ),
    pytest.param(AtomicJSONDataset, {"ok": 1, "bad": object()}, id="json"),
    pytest.param(AtomicPickleDataset, {"ok": 1, "bad": _Unpicklable()}, id="pickle"),
]


@pytest.mark.parametrize(("cls", "bad"), FAILING)
def test_failed_save_keeps_the_previous_file_and_no_temp(tmp_path, cls, bad):
    target = tmp_path / "t.out"
    good = {"ok": 1} if cls is not AtomicParquetDataset else FRAME
    dataset = cls(filepath=str(target))
    dataset.save(good)
    before = target.read_bytes()
    with pytest.raises(DatasetError):
        dataset.save(bad)
    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == []
    _equal(dataset.load(), good)


def test_the_temporary_file_is_what_a_failing_save_wrote(tmp_path, monkeypatch):
    # The save really goes through a sibling: the target is untouched while
    # the data is being written.
    target = tmp_path / "t.json"
    target.write_text(json.dumps({"old": True}))
    dataset = AtomicJSONDataset(filepath=str(target))
    seen = {}

    def dump(data, handle, **kwargs):
        seen["target_during_write"] = target.read_text()
        seen["siblings"] = _leftovers(tmp_path)
        handle.write(json.dumps(data))

    monkeypatch.setattr("kedro_datasets.json.json_dataset.json.dump", dump)
    dataset.save({"new": True})
    assert seen["target_during_write"] == json.dumps({"old": True})
    assert len(seen["siblings"]) == 1
    assert json.loads(target.read_text()) == {"new": True}
    assert _leftovers(tmp_path) == []


def test_versioned_save_writes_the_versioned_path(tmp_path):
    dataset = AtomicPickleDataset(
        filepath=str(tmp_path / "m.pkl"), version=Version(None, None)
    )
    dataset.save({"a": 1})
    assert dataset.load() == {"a": 1}
    (saved,) = (tmp_path / "m.pkl").rglob("m.pkl")
    assert pickle.loads(saved.read_bytes()) == {"a": 1}
    assert list(tmp_path.rglob("*.tmp")) == []


def test_matplotlib_figure_and_figure_dict(tmp_path):
    single = AtomicMatplotlibDataset(filepath=str(tmp_path / "roc.png"))
    single.save(_figure())
    assert (tmp_path / "roc.png").read_bytes().startswith(b"\x89PNG")
    several = AtomicMatplotlibDataset(filepath=str(tmp_path / "plots"))
    several.save({"a.png": _figure(), "b.png": _figure()})
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["a.png", "b.png"]
    assert _leftovers(tmp_path) == []


def test_inside_mlflow_artifact_dataset_logs_the_target(tmp_path):
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    try:
        dataset = MlflowArtifactDataset(
            dataset={
                "type": "churn_pipeline.datasets.AtomicJSONDataset",
                "filepath": str(tmp_path / "decision.json"),
            }
        )
        with mlflow.start_run() as run:
            dataset.save({"promoted": True})
        client = mlflow.MlflowClient()
        assert [a.path for a in client.list_artifacts(run.info.run_id)] == [
            "decision.json"
        ]
        assert json.loads((tmp_path / "decision.json").read_text()) == {
            "promoted": True
        }
        assert _leftovers(tmp_path) == []
    finally:
        mlflow.set_tracking_uri(previous)
