"""Kedro project settings."""

from kedro.config import OmegaConfigLoader

from churn_pipeline.hooks import (
    MlflowRunHooks,
    ParameterCheckHooks,
    RunLockHooks,
    RunSummaryHooks,
)
from churn_pipeline.reporting.quiet import silence_known_noise
from churn_pipeline.runs.profile import NodeProfileHooks

# Known upstream warnings (each named with its cause in reporting/quiet.py) go to
# the log and are dropped there, so `kedro run` shows only what a user can act on.
silence_known_noise()

# Among the `tryfirst` before_pipeline_run hooks the one registered last runs
# first: the parameters are checked before the run lock is taken.
# NodeProfileHooks records nothing unless CHURN_PIPELINE_PROFILE names a file.
HOOKS = (
    MlflowRunHooks(),
    RunLockHooks(),
    ParameterCheckHooks(),
    RunSummaryHooks(),
    NodeProfileHooks(),
)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {
        "mlflow": ["mlflow*", "mlflow*/**"],
    },
}
