"""Known noise from libraries the project uses, dropped from the log with its cause.

``kedro run`` should show our progress and anything that needs attention. The
entries below come from third-party code the project cannot change, repeat on every
run and ask nothing of the user; each names where it comes from. Anything not
listed still shows.

Python warnings are routed into the log (``logging.captureWarnings``) and dropped
there rather than with ``warnings.filterwarnings``: MLflow wraps some checks in its
own ``simplefilter("once")``, which would override an ignore filter.
"""

from __future__ import annotations

import logging
import os
import re
from typing import NamedTuple

# Imported for its side effect: kedro_mlflow sets its logger to INFO on import,
# which must happen before the level is lowered below.
import kedro_mlflow  # noqa: F401

WARNINGS_LOGGER = "py.warnings"


class KnownNoise(NamedTuple):
    """A log record (or captured warning) that third-party code writes every run.

    Attributes:
        logger: The logger that writes it (``py.warnings`` for Python warnings,
            whose text starts with ``<file>:<line>: <category>: <message>``).
        pattern: Regular expression searched in the record's text.
        cause: Where it comes from and why it does not concern the user.
    """

    logger: str
    pattern: str
    cause: str


KNOWN_NOISE: tuple[KnownNoise, ...] = (
    KnownNoise(
        WARNINGS_LOGGER,
        r"mlflow/pyfunc/.*UserWarning: .*Add type hints to the `predict` method",
        "kedro-mlflow's KedroPipelineModel.predict has no type hints and MLflow "
        "warns when the class is defined; our model is logged with a signature.",
    ),
    KnownNoise(
        WARNINGS_LOGGER,
        r"kedro_mlflow/.*: PydanticDeprecatedSince20: Support for class-based `config`",
        "kedro-mlflow's configuration models use Pydantic v1's class Config.",
    ),
    KnownNoise(
        WARNINGS_LOGGER,
        r"(kedro/config|kedro_mlflow)/.*UserWarning: register_new_resolver\(\) is "
        r"deprecated",
        "Kedro's OmegaConfigLoader and kedro-mlflow's hook register resolvers with "
        "the OmegaConf call that OmegaConf 2.4 deprecates.",
    ),
    KnownNoise(
        WARNINGS_LOGGER,
        r"mlflow/store/.*SADeprecationWarning: The ``noload`` loader strategy",
        "MLflow's SQLAlchemy tracking store uses noload, deprecated in SQLAlchemy 2.1.",
    ),
    KnownNoise(
        WARNINGS_LOGGER,
        r"DeprecationWarning: the load_module\(\) method is deprecated",
        "MLflow's post-import hooks (mlflow.utils.import_hooks) wrap module loaders "
        "with load_module; it fires when xgboost and lightgbm are imported.",
    ),
    KnownNoise(
        "kedro_mlflow.framework.hooks.mlflow_hook",
        r"^'model_training\.monotone_constraints\.[^']*' is not a valid name for a "
        r"mlflow paramter",
        "Monotone constraint keys are fnmatch patterns (`logins_*`); MLflow param "
        "names cannot hold `*`, so kedro-mlflow logs each with `_` in its place, "
        "values unchanged, and warns once per pattern.",
    ),
    KnownNoise(
        "mlflow.utils.environment",
        r"^Failed to resolve installed pip version",
        "uv builds .venv without pip; the model's requirements are pinned "
        "explicitly (model_registry.mlflow_store).",
    ),
)

# Libraries that set their own logger level when imported, overriding
# conf/logging.yml: MLflow reads MLFLOW_LOGGING_LEVEL (default INFO), kedro-mlflow
# sets INFO.
_SELF_CONFIGURED = ("mlflow", "kedro_mlflow")


class DropKnownNoise(logging.Filter):
    """Drop records whose text matches one of the given patterns."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        """Compile ``patterns`` once.

        Args:
            patterns: Regular expressions searched in each record's text.
        """
        super().__init__()
        self.patterns = tuple(re.compile(pattern) for pattern in patterns)

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record unless a pattern matches it."""
        text = record.getMessage()
        return not any(pattern.search(text) for pattern in self.patterns)


def silence_known_noise(known: tuple[KnownNoise, ...] = KNOWN_NOISE) -> None:
    """Route warnings into the log and drop the known upstream noise there.

    Safe to call more than once: each logger keeps one such filter.

    Args:
        known: The records to drop.
    """
    logging.captureWarnings(True)
    for name in sorted({entry.logger for entry in known}):
        target = logging.getLogger(name)
        for old in [f for f in target.filters if isinstance(f, DropKnownNoise)]:
            target.removeFilter(old)
        target.addFilter(
            DropKnownNoise(tuple(e.pattern for e in known if e.logger == name))
        )
    # A later `import mlflow` reads the variable; an earlier one is overridden here.
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    for name in _SELF_CONFIGURED:
        logging.getLogger(name).setLevel(os.environ["MLFLOW_LOGGING_LEVEL"].upper())
