"""Copy a registered model into the BentoML model store, for self-contained Bentos.

``bentoml build`` packs models from BentoML's own store, not from MLflow. This
command imports the model an MLflow URI names (default the champion) with what
the service reports about it (registered name, version, alias, metrics), so a
Bento built afterwards serves without reaching the tracking server::

    MLFLOW_TRACKING_URI=sqlite:///mlflow.db \
        python -m churn_pipeline.model_registry.bento_store
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import bentoml
import bentoml.mlflow

from churn_pipeline.model_registry.mlflow_store import (
    ServedModel,
    load_model,
    load_served_model,
)

logger = logging.getLogger(__name__)

BENTO_MODEL_NAME = "churn-model"
DEFAULT_MODEL_URI = "models:/churn-model@champion"


def import_model(model_uri: str = DEFAULT_MODEL_URI) -> str:
    """Import a registered model into the BentoML model store.

    Args:
        model_uri: ``models:/<name>@<alias>`` or ``models:/<name>/<version>``.

    Returns:
        The BentoML tag of the imported model (``churn-model:<id>``).
    """
    served = load_served_model(model_uri)
    imported = bentoml.mlflow.import_model(
        BENTO_MODEL_NAME,
        model_uri,
        labels={"registered_model": served.name, "version": served.version},
        metadata={
            "uri": served.uri,
            "name": served.name,
            "version": served.version,
            "alias": served.alias,
            "metrics": served.metrics,
        },
    )
    logger.info(
        "Imported %s (version %s) as %s", model_uri, served.version, imported.tag
    )
    return str(imported.tag)


def load_imported_model(tag: str = f"{BENTO_MODEL_NAME}:latest") -> ServedModel:
    """Load a model :func:`import_model` put in the BentoML model store."""
    stored = bentoml.models.get(tag)
    model, policy = load_model(stored.path_of(bentoml.mlflow.MLFLOW_MODEL_FOLDER))
    about = stored.info.metadata
    return ServedModel(
        model=model,
        policy=policy,
        uri=str(about["uri"]),
        name=str(about["name"]),
        version=str(about["version"]),
        alias=about.get("alias"),
        metrics={k: float(v) for k, v in dict(about.get("metrics") or {}).items()},
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: import a registered model into the BentoML model store."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-uri", default=DEFAULT_MODEL_URI)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    import_model(args.model_uri)


if __name__ == "__main__":
    main()
