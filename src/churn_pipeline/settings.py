"""Kedro project settings."""

from kedro.config import OmegaConfigLoader

from churn_pipeline.hooks import InputKindHooks

HOOKS = (InputKindHooks(),)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {
        "mlflow": ["mlflow*", "mlflow*/**"],
    },
}
