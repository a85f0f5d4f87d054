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
            raise DatasetError(self._why_none(error.message)) from error

    def _why_none(self, detail: str) -> str:
        """Why no version holds the alias, and what to do about it."""
        from mlflow import MlflowClient  # noqa: PLC0415

        client = MlflowClient()
        versions = client.search_model_versions(f"name='{self.model_name}'")
        if not versions:
            return (
                f"No model holds {self.model_uri}: no version of "
                f"{self.model_name!r} is registered yet. Run `kedro run` to train "
                f"and register one ({detail})"
            )
        newest = max(versions, key=lambda v: int(v.version))
        # The registering run records the champion gate's decision as a tag.
        reason = client.get_run(newest.run_id).data.tags.get(
            "champion_decision_reason", "no decision recorded"
        )
        return (
            f"No model holds {self.model_uri}: {len(versions)} version(s) of "
            f"{self.model_name!r} are registered, but the champion gate promoted "
            f"none. Newest v{newest.version}: {reason}. Look at that run in the "
            f"MLflow UI, then either improve the model and rerun `kedro run`, "
            f"relax model_registry.baseline_tolerance_sd, or promote a version "
            f"yourself: MlflowClient().set_registered_model_alias("
            f"{self.model_name!r}, {self.alias!r}, {newest.version})"
        )

    def save(self, data: Any) -> None:
        """Refuse: the ``model_registry`` pipeline registers models."""
        raise DatasetError("ChampionModelDataset is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"model_uri": self.model_uri}
