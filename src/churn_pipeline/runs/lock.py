"""One `kedro run` per project at a time: an OS file lock naming its holder.

The lock is an ``flock`` (``filelock``): the kernel drops it when the holding
process ends, however it ends (``kill -9`` included), so a crashed run never
blocks the next one. The lock file also records who holds it, so a refused
run can say which run is in the way.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock, Timeout

logger = logging.getLogger(__name__)

LOCK_FILENAME = ".kedro_run.lock"
# Seconds a run waits for the lock before it refuses; 0 refuses at once.
WAIT_ENV = "CHURN_RUN_LOCK_WAIT_S"


@dataclass(frozen=True)
class Holder:
    """The run holding the lock."""

    pid: int
    started: str
    pipelines: tuple[str, ...]
    env: str | None
    host: str

    @classmethod
    def current(cls, pipelines: Sequence[str] | None, env: str | None) -> Holder:
        """This process, starting a run of ``pipelines`` (None: the default)."""
        return cls(
            pid=os.getpid(),
            started=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            pipelines=tuple(pipelines or ("__default__",)),
            env=env,
            host=socket.gethostname(),
        )

    def describe(self) -> str:
        """One line for messages."""
        env = f", env {self.env}" if self.env else ""
        return (
            f"pid {self.pid} on {self.host}, started {self.started}, "
            f"pipelines {', '.join(self.pipelines)}{env}"
        )


class RunLockedError(RuntimeError):
    """Another run of the project holds the lock."""


def read_holder(path: Path) -> Holder | None:
    """The holder recorded in the lock file; None if none is (yet) written."""
    try:
        values = json.loads(path.read_text())
        return Holder(**{**values, "pipelines": tuple(values["pipelines"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None


def wait_seconds(environ: Mapping[str, str] = os.environ) -> float:
    """How long to wait for the lock, from ``CHURN_RUN_LOCK_WAIT_S`` (default 0).

    Raises:
        ValueError: If the variable is not a number >= 0.
    """
    text = environ.get(WAIT_ENV, "").strip() or "0"
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also false for nan
        raise ValueError(f"{WAIT_ENV} must be a number of seconds >= 0, got {text!r}")
    return seconds


class RunLock:
    """The project's run lock.

    Args:
        path: The lock file.
        wait_s: Seconds to wait for another run to finish; 0 refuses at once.
    """

    def __init__(self, path: Path, *, wait_s: float = 0.0) -> None:
        self.path = Path(path)
        self.wait_s = wait_s
        # One lock per run, not per thread: hooks may run on other threads.
        self._lock = FileLock(self.path, timeout=wait_s, thread_local=False)

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._lock.is_locked

    def acquire(self, holder: Holder) -> None:
        """Take the lock (waiting up to ``wait_s``) and record ``holder``.

        Raises:
            RunLockedError: If another run holds it, naming that run and the file.
        """
        other = read_holder(self.path)
        if self.wait_s > 0:
            logger.info(
                "Waiting up to %g s for the run lock %s", self.wait_s, self.path
            )
        try:
            self._lock.acquire()
        except Timeout:
            other = read_holder(self.path) or other
            who = other.describe() if other else "a run that is starting"
            raise RunLockedError(
                f"Another kedro run of this project is running ({who}); lock file "
                f"{self.path}. Wait for it to finish, or set {WAIT_ENV}=<seconds> "
                f"to wait for it (waited {self.wait_s:g} s)."
            ) from None
        # The kernel lock is on another descriptor: rewriting the file's content
        # does not release it.
        self.path.write_text(json.dumps(asdict(holder)))

    def release(self) -> None:
        """Clear the holder record and release the lock (no-op if not held)."""
        if not self.held:
            return
        self.path.write_text("")
        self._lock.release()
