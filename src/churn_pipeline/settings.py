"""Kedro project settings."""

from kedro.config import OmegaConfigLoader

from churn_pipeline.hooks import (
    MlflowRunHooks,
    ParameterCheckHooks,
    RunLockHooks,
    RunSummaryHooks,
)
from churn_pipeline.reporting.quiet import silence_known_noise

# Known upstream warnings (each named with its cause in reporting/quiet.py) go to
# the log and are dropped there, so `kedro run` shows only what a user can act on.
silence_known_noise()

# Among the `tryfirst` before_pipeline_run hooks the one registered last runs
# first: the parameters are checked before the run lock is taken.
HOOKS = (MlflowRunHooks(), RunLockHooks(), ParameterCheckHooks(), RunSummaryHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {
        "mlflow": ["mlflow*", "mlflow*/**"],
    },
}
