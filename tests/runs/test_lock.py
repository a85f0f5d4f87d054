"""The project's run lock: refuses or waits, names its holder, dies with it."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from churn_pipeline.runs import (
    WAIT_ENV,
    Holder,
    RunLock,
    RunLockedError,
    read_holder,
    wait_seconds,
)

POLL_LIMIT_S = 60

# A process that takes the lock, then holds it until its stdin closes.
HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from churn_pipeline.runs import Holder, RunLock

    lock = RunLock(Path(sys.argv[1]))
    lock.acquire(Holder.current(["data_validation"], None))
    sys.stdin.read()
    lock.release()
    """
)


def _wait_for_holder(path, pid, process):
    """Poll (bounded) until the lock file names ``pid`` as its holder."""
    deadline = time.monotonic() + POLL_LIMIT_S
    while (holder := read_holder(path)) is None or holder.pid != pid:
        assert process.poll() is None, "the holder process exited early"
        assert time.monotonic() < deadline, "the holder never took the lock"
        time.sleep(0.05)
    return holder


@pytest.fixture
def holder_process(tmp_path):
    path = tmp_path / ".kedro_run.lock"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        env={**os.environ},
    )
    try:
        _wait_for_holder(path, process.pid, process)
        yield path, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_second_lock_refuses_naming_holder_and_file(tmp_path):
    path = tmp_path / ".kedro_run.lock"
    first = RunLock(path)
    first.acquire(Holder.current(["data_validation"], "telco"))
    try:
        with pytest.raises(RunLockedError) as refused:
            RunLock(path).acquire(Holder.current(None, None))
        message = str(refused.value)
        holder = read_holder(path)
        assert f"pid {os.getpid()}" in message
        assert f"started {holder.started}" in message
        assert "pipelines data_validation" in message
        assert "env telco" in message
        assert str(path) in message
        assert WAIT_ENV in message
    finally:
        first.release()
    assert read_holder(path) is None
    second = RunLock(path)
    second.acquire(Holder.current(None, None))
    assert second.held
    second.release()
    assert not second.held


def test_lock_of_another_process_refuses(holder_process):
    path, process = holder_process
    with pytest.raises(RunLockedError, match=rf"pid {process.pid} .*data_validation"):
        RunLock(path).acquire(Holder.current(None, None))


def test_lock_of_a_killed_process_does_not_block(holder_process):
    path, process = holder_process
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    # The dead holder's record is still in the file; the kernel lock is gone.
    assert read_holder(path).pid == process.pid
    lock = RunLock(path)
    lock.acquire(Holder.current(None, None))
    assert read_holder(path).pid == os.getpid()
    lock.release()


class _ReleaseWhenWaiting(logging.Handler):
    """Lets the holder go once the waiting run has said it waits."""

    def __init__(self, process):
        super().__init__()
        self.process = process

    def emit(self, record):
        if "Waiting up to" in record.getMessage():
            self.process.stdin.close()


def test_waiting_lock_gets_it_when_the_holder_ends(holder_process):
    path, process = holder_process
    handler = _ReleaseWhenWaiting(process)
    logger = logging.getLogger("churn_pipeline.runs.lock")
    logger.addHandler(handler)
    previous_level = logger.level
    logger.setLevel(logging.INFO)
    try:
        lock = RunLock(path, wait_s=POLL_LIMIT_S)
        lock.acquire(Holder.current(None, None))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    assert process.wait(timeout=30) == 0
    assert read_holder(path).pid == os.getpid()
    lock.release()


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, 0.0), ("", 0.0), ("0", 0.0), ("12.5", 12.5)]
)
def test_wait_seconds_from_environment(value, seconds):
    environ = {} if value is None else {WAIT_ENV: value}
    assert wait_seconds(environ) == seconds


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_wait_seconds_rejects_nonsense(value):
    with pytest.raises(ValueError, match=rf"{WAIT_ENV} must be a number .*{value}"):
        wait_seconds({WAIT_ENV: value})
