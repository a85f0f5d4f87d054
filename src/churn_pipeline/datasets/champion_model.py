"""The model holding the champion alias, loaded at run time."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset, DatasetError


class ChampionModelDataset(AbstractDataset[None, Any]):
    """The registered model an alias points at, loaded as the service loads it.

    Loading resolves the alias in the MLflow registry at that moment, so a
    pipeline scores with whichever version is the champion, never with a model
    trained in the same process. Read-only: models are registered by the
    ``model_registry`` pipeline.

    Args:
        model_name: Registered model name.
        alias: The alias to follow.
    """

    def __init__(self, *, model_name: str, alias: str = "champion") -> None:
        self.model_name = model_name
        self.alias = alias

    @property
    def model_uri(self) -> str:
        """``models:/<name>@<alias>``."""
        return f"models:/{self.model_name}@{self.alias}"

    def load(self) -> Any:
        """The served model (``ServedModel``) holding the alias.

        Raises:
            DatasetError: If no version holds the alias (train one first).
        """
        # Imported here: MLflow is slow to import and most datasets never load.
        from mlflow.exceptions import MlflowException  # noqa: PLC0415

        from churn_pipeline.model_registry.mlflow_store import load_served_model  # noqa: PLC0415

        try:
            return load_served_model(self.model_uri)
        except MlflowException as error:
            raise DatasetError(
                f"No model holds {self.model_uri}: run `kedro run` to train and "
                f"register one ({error.message})"
            ) from error

    def save(self, data: Any) -> None:
        """Refuse: the ``model_registry`` pipeline registers models."""
        raise DatasetError("ChampionModelDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"model_uri": self.model_uri}
