"""The node profile: each node's stage, wall time and peak RSS, only when asked."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
from kedro.framework.hooks.manager import _create_hook_manager
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline, node
from kedro.runner import SequentialRunner

from churn_pipeline.runs.profile import (
    PROFILE_ENV,
    NodeProfileHooks,
    node_stages,
    peak_rss_mb,
    rss_mb,
)

HELD_MB = 200


def _hold_memory(seed: int) -> np.ndarray:
    # Returned, so it is still resident when the node's end is recorded.
    rng = np.random.default_rng(seed)
    return rng.random(HELD_MB * 2**20 // 8)


def _total(held: np.ndarray) -> float:
    return float(held.sum())


class _CostlyToSave(MemoryDataset):
    """Saving does the work, as a lazy engine expression's write does."""

    def save(self, data: float) -> None:
        # Kept, so it is still resident when the node's end is recorded.
        self.work = np.random.default_rng(1).random(HELD_MB * 2**20 // 8)
        super().save(data + float(self.work[0] > 2.0))


def _fail(total: float) -> float:
    raise ValueError(f"column 'total' rejected: {total:.0f} is not below 0")


LOAD = node(_hold_memory, "params:seed", "held", name="hold_memory_node")
SUM = node(_total, "held", "total", name="total_node")
FAIL = node(_fail, "total", "never", name="fail_node")
STAGES = {
    "__default__": Pipeline([LOAD, SUM, FAIL]),
    "loading": Pipeline([LOAD]),
    "summing": Pipeline([SUM, LOAD]),
}


def _run(hooks: NodeProfileHooks, pipeline: Pipeline) -> None:
    manager = _create_hook_manager()
    manager.register(hooks)
    catalog = DataCatalog({"params:seed": MemoryDataset(7)})
    run_params = {"pipeline_names": ["tiny"], "env": "test"}
    manager.hook.before_pipeline_run(
        run_params=run_params, pipeline=pipeline, catalog=catalog
    )
    try:
        SequentialRunner().run(pipeline, catalog, manager)
    except ValueError as error:
        manager.hook.on_pipeline_error(
            error=error, run_params=run_params, pipeline=pipeline, catalog=catalog
        )
        raise
    manager.hook.after_pipeline_run(
        run_params=run_params, run_result={}, pipeline=pipeline, catalog=catalog
    )


def _samplers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "node-profile-sampler"]


@pytest.fixture
def profile_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "out" / "profile.json"
    monkeypatch.setenv(PROFILE_ENV, str(path))
    return path


def test_every_node_recorded_with_stage_wall_and_peak(profile_path: Path):
    _run(NodeProfileHooks(lambda: STAGES), Pipeline([LOAD, SUM]))

    profile = json.loads(profile_path.read_text())
    nodes = {record["name"]: record for record in profile["nodes"]}
    assert profile["status"] == "completed"
    assert profile["pipeline_names"] == ["tiny"]
    assert list(nodes) == ["hold_memory_node", "total_node"]
    assert nodes["hold_memory_node"]["stage"] == "loading"
    assert nodes["total_node"]["stage"] == "summing"
    held = nodes["hold_memory_node"]
    assert held["status"] == "completed"
    assert held["peak_rss_mb"] >= held["rss_before_mb"] + 0.9 * HELD_MB
    assert all(record["wall_s"] >= 0 for record in nodes.values())
    assert profile["peak_rss_mb"] >= held["peak_rss_mb"]
    assert not _samplers()


def test_a_node_is_measured_until_its_outputs_are_written(profile_path: Path):
    hooks = NodeProfileHooks(lambda: STAGES)
    manager = _create_hook_manager()
    manager.register(hooks)
    catalog = DataCatalog({"params:seed": MemoryDataset(7), "total": _CostlyToSave()})
    pipeline = Pipeline([node(float, "params:seed", "total", name="total_node")])
    manager.hook.before_pipeline_run(
        run_params={"pipeline_names": ["tiny"]}, pipeline=pipeline, catalog=catalog
    )
    SequentialRunner().run(pipeline, catalog, manager)
    manager.hook.after_pipeline_run(
        run_params={}, run_result={}, pipeline=pipeline, catalog=catalog
    )

    (record,) = json.loads(profile_path.read_text())["nodes"]
    assert record["status"] == "completed"
    # The save's allocation is inside the node's span, its function's is not.
    assert record["peak_rss_mb"] >= record["rss_before_mb"] + 0.9 * HELD_MB
    assert record["wall_s"] >= record["run_s"] >= 0


def test_failed_node_and_run_recorded_with_the_error(profile_path: Path):
    with pytest.raises(ValueError, match="'total' rejected"):
        _run(NodeProfileHooks(lambda: STAGES), Pipeline([LOAD, SUM, FAIL]))

    profile = json.loads(profile_path.read_text())
    assert profile["status"] == "failed"
    assert "ValueError: column 'total' rejected" in profile["error"]
    last = profile["nodes"][-1]
    assert (last["name"], last["status"], last["stage"]) == (
        "fail_node",
        "failed",
        None,
    )
    assert not _samplers()


def test_nothing_recorded_when_not_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)

    _run(NodeProfileHooks(lambda: STAGES), Pipeline([LOAD, SUM]))

    assert list(tmp_path.iterdir()) == []
    assert not _samplers()


@pytest.mark.parametrize(
    ("registered", "expected"),
    [
        (STAGES, {"hold_memory_node": "loading", "total_node": "summing"}),
        ({"__default__": Pipeline([LOAD, SUM])}, {}),
        (
            {"b": Pipeline([LOAD]), "a": Pipeline([LOAD])},
            {"hold_memory_node": "a"},
        ),
    ],
)
def test_stage_is_the_smallest_registered_pipeline(registered, expected):
    assert node_stages(registered) == expected


def test_memory_readings_are_of_this_process():
    assert rss_mb() > 0
    assert peak_rss_mb() >= rss_mb() * 0.99
