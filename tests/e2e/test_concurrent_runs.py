"""Two real `kedro run` processes on one project: the second refuses, the first
completes; a killed run neither blocks the next nor stays RUNNING in MLflow.

The first run is held inside its pipeline deterministically: in the ``gate``
environment one raw table is read from a named pipe, which blocks until the
test writes the table into it.
"""

from __future__ import annotations

import errno
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from tests.e2e.conftest import copy_project

from churn_pipeline.datasets import AtomicParquetDataset
from churn_pipeline.runs import ABANDONED_TAG, LOCK_FILENAME, read_holder

pytestmark = pytest.mark.e2e

KEDRO = str(Path(sys.executable).with_name("kedro"))
POLL_LIMIT_S = 300
GATE = "data/01_raw/nps_gate.pkl"
VALIDATE = ["run", "--pipelines", "data_validation"]
# Reads a pickled table from a named pipe: fsspec's files want to seek.
GATE_DATASET = """
import pickle

from kedro.io import AbstractDataset


class GateDataset(AbstractDataset):
    def __init__(self, filepath):
        self._filepath = filepath

    def load(self):
        with open(self._filepath, "rb") as pipe:
            return pickle.load(pipe)

    def save(self, data):
        raise NotImplementedError

    def _describe(self):
        return {"filepath": self._filepath}
"""


def _env() -> dict[str, str]:
    # Wide lines: rich would otherwise wrap the messages the test reads.
    return {**os.environ, "COLUMNS": "400", "CHURN_RUN_LOCK_WAIT_S": "0"}


def _kedro(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [KEDRO, *args],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _start(project: Path, log: Path) -> subprocess.Popen:
    with log.open("w") as output:
        return subprocess.Popen(
            [KEDRO, *VALIDATE, "--env", "gate"],
            cwd=project,
            env=_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def _flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def _poll(condition, process: subprocess.Popen, log: Path, what: str):
    """Bounded poll of ``condition`` while ``process`` is alive."""
    deadline = time.monotonic() + POLL_LIMIT_S
    while not (result := condition()):
        if process.poll() is not None:
            pytest.fail(f"run exited before {what}:\n{log.read_text()[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)
    return result


def _holds_lock(project: Path, pid: int):
    def check() -> bool:
        holder = read_holder(project / LOCK_FILENAME)
        return holder is not None and holder.pid == pid

    return check


def _open_gate_writer(project: Path):
    """A write end of the pipe once the run reads it (ENXIO until then)."""

    def check() -> int | None:
        try:
            return os.open(project / GATE, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno != errno.ENXIO:
                raise
            return None

    return check


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("concurrent")
    copy_project(path)
    generated = _kedro(path, "run", "--pipelines", "demo_data")
    assert generated.returncode == 0, generated.stderr[-4000:]
    # Kedro puts the project's src/ on the path of its runs.
    (path / "src/gate_dataset.py").write_text(GATE_DATASET)
    gate = path / "conf/gate"
    gate.mkdir()
    (gate / "catalog.yml").write_text(
        f"raw_nps_responses:\n  type: gate_dataset.GateDataset\n  filepath: {GATE}\n"
    )
    os.mkfifo(path / GATE)
    return path


def test_second_run_refuses_and_first_completes(project, tmp_path):
    log = tmp_path / "first.log"
    first = _start(project, log)
    try:
        _poll(_holds_lock(project, first.pid), first, log, "the lock")
        second = _kedro(project, *VALIDATE)
        output = _flat(second.stdout + second.stderr)
        assert second.returncode != 0
        assert f"Another kedro run of this project is running (pid {first.pid}" in (
            output
        )
        assert "pipelines data_validation, env gate" in output
        assert str(project / LOCK_FILENAME) in output

        writer = _poll(_open_gate_writer(project), first, log, "the gate read")
        os.set_blocking(writer, True)
        nps = pd.read_parquet(project / "data/01_raw/nps_responses.parquet")
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(pickle.dumps(nps))
        assert first.wait(timeout=900) == 0, log.read_text()[-4000:]
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    validated = AtomicParquetDataset(
        filepath=str(project / "data/02_intermediate/nps_responses.parquet")
    ).load()
    assert len(validated) == len(nps)
    assert (project / "data/08_reporting").exists()
    assert list((project / "data").rglob("*.tmp")) == []


def test_killed_run_does_not_block_and_is_marked_failed(project, tmp_path):
    log = tmp_path / "killed.log"
    killed = _start(project, log)
    try:
        _poll(_holds_lock(project, killed.pid), killed, log, "the lock")
        # Once it reads the pipe its MLflow run is open; keep the pipe open so
        # it stays blocked, then kill it.
        writer = _poll(_open_gate_writer(project), killed, log, "the gate read")
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait(timeout=60)
        os.close(writer)
    finally:
        if killed.poll() is None:
            killed.kill()
            killed.wait()

    following = _kedro(project, *VALIDATE)
    output = _flat(following.stdout + following.stderr)
    assert following.returncode == 0, output[-4000:]
    assert "Marked 1 MLflow run(s) left RUNNING by an earlier, killed run" in output

    client = MlflowClient(f"sqlite:///{project}/mlflow.db")
    experiment = client.get_experiment_by_name("churn")
    runs = client.search_runs([experiment.experiment_id])
    abandoned = [r for r in runs if ABANDONED_TAG in r.data.tags]
    assert len(abandoned) == 1
    assert abandoned[0].info.status == "FAILED"
    assert abandoned[0].data.tags["env"] == "gate"
    assert all(r.info.status != "RUNNING" for r in runs)
