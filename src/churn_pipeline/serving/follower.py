"""Follow the champion alias: serve a newly promoted version without a restart.

A background thread asks the registry every few seconds which version holds
the alias. When it moved, the new version is loaded and warmed up off the
request path, checked against the request schema the service was started
with, and only then published as the one to score with: a single reference
swap, so every call sees one whole model, never half of one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from mlflow.tracking import MlflowClient

from churn_pipeline.model_registry.mlflow_store import ServedModel, load_served_model

logger = logging.getLogger(__name__)


class ChampionFollower:
    """Holds the served model and swaps in the alias's new version when it moves.

    Args:
        served: The model loaded at start-up, by an alias URI
            (``models:/<name>@<alias>``); a URI naming a version is never
            followed.
        accept: Called on a freshly loaded model before it serves; raises
            ``ValueError`` to refuse it (e.g. different request features). It
            also warms the model up (explainers built, first call made).
        interval_s: Seconds between registry checks; 0 switches following off.
        loader: Loads a version's URI (the registry's, by default).
    """

    def __init__(
        self,
        served: ServedModel,
        *,
        accept: Callable[[ServedModel], None],
        interval_s: float,
        loader: Callable[[str], ServedModel] = load_served_model,
    ) -> None:
        if interval_s < 0:
            raise ValueError(f"interval_s must be >= 0, got {interval_s}")
        self.current = served
        self.accept = accept
        self.interval_s = interval_s
        self.loader = loader
        self._refused: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def follows(self) -> bool:
        """Whether there is an alias to follow and following is on."""
        return self.current.alias is not None and self.interval_s > 0

    def start(self) -> None:
        """Check the alias every ``interval_s`` seconds on a daemon thread."""
        if not self.follows or self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name="champion-follower", daemon=True
        )
        self._thread.start()
        logger.info(
            "Following %s@%s every %g s",
            self.current.name,
            self.current.alias,
            self.interval_s,
        )

    def stop(self) -> None:
        """Stop checking (the thread ends within one interval)."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception:
                # The registry may be briefly unreachable: keep serving, retry.
                logger.warning(
                    "Could not check %s@%s; still serving v%s",
                    self.current.name,
                    self.current.alias,
                    self.current.version,
                    exc_info=True,
                )

    def check(self) -> bool:
        """Swap in the alias's version if it moved; return whether it did."""
        served = self.current
        if served.alias is None:
            return False
        entry = MlflowClient().get_model_version_by_alias(served.name, served.alias)
        version = str(entry.version)
        if version == served.version or version in self._refused:
            return False
        candidate = self.loader(f"models:/{served.name}/{version}")
        try:
            self.accept(candidate)
        except ValueError as error:
            self._refused.add(version)
            logger.error(
                "%s v%s holds @%s but cannot be served here: %s; still serving v%s",
                served.name,
                version,
                served.alias,
                error,
                served.version,
            )
            return False
        # Keep the alias URI: /metadata says what the service follows.
        self.current = ServedModel(
            model=candidate.model,
            policy=candidate.policy,
            uri=served.uri,
            name=served.name,
            version=candidate.version,
            alias=served.alias,
            metrics=candidate.metrics,
        )
        logger.info(
            "Now serving %s v%s (was v%s), the new holder of @%s",
            served.name,
            version,
            served.version,
            served.alias,
        )
        return True
