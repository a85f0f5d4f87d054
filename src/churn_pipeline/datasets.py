"""Kedro datasets of this project."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError


class AbsentTableDataset(AbstractDataset[None, None]):
    """Declares that an optional raw table does not exist in this environment.

    Loading returns ``None``; the validation step turns that into an empty table
    and records it as absent, and no features are computed from it. Saving is an
    error: an absent table is an input, never an output.
    """

    def load(self) -> None:
        """Return ``None``: there is no table."""
        return None

    def save(self, data: None) -> None:
        """Refuse: nothing may be written to an absent table."""
        raise DatasetError("AbsentTableDataset is read-only: the table is absent")

    def _exists(self) -> bool:
        return False

    def _describe(self) -> dict[str, Any]:
        return {"absent": True}


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
        """The :class:`~churn_pipeline.registry.ServedModel` holding the alias.

        Raises:
            DatasetError: If no version holds the alias (train one first).
        """
        # Imported here: MLflow is slow to import and most datasets never load.
        from mlflow.exceptions import MlflowException  # noqa: PLC0415

        from churn_pipeline.registry import load_served_model  # noqa: PLC0415

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


class OnlineFeatureStoreDataset(AbstractDataset[Any, Any]):
    """Current features: a Feast repository's offline source and online store.

    Saving writes the frame as the Parquet file the generated Feast repository
    reads (its offline source), (re)generates the repository, and writes the
    rows to the online store the service reads by account id. Loading reads the
    offline source back.

    Args:
        filepath: The Parquet file of current features (the offline source).
        store: ``OnlineStoreSettings`` fields (``kind``, ``repo_path``, ...).
    """

    def __init__(self, *, filepath: str, store: dict[str, Any] | None = None) -> None:
        from churn_pipeline.feature_store import OnlineStoreSettings  # noqa: PLC0415

        self.filepath = Path(filepath)
        self.settings = OnlineStoreSettings.from_params(store or {})

    def load(self) -> Any:
        """The features last saved."""
        import pandas as pd  # noqa: PLC0415

        return pd.read_parquet(self.filepath)

    def save(self, data: Any) -> None:
        """Write the offline source, the Feast repository and the online store."""
        from churn_pipeline.feature_store import (  # noqa: PLC0415
            write_feature_repo,
            write_online,
        )
        from churn_pipeline.features import FEATURES_BY_NAME  # noqa: PLC0415

        columns = [c for c in data.columns if c in FEATURES_BY_NAME]
        numeric = [c for c in columns if FEATURES_BY_NAME[c].kind == "numeric"]
        categorical = [c for c in columns if FEATURES_BY_NAME[c].kind != "numeric"]
        self.filepath.parent.mkdir(parents=True, exist_ok=True)
        # Written beside, then renamed: a reader never sees half a file.
        partial = self.filepath.with_suffix(".partial")
        data.to_parquet(partial, index=False)
        partial.replace(self.filepath)
        write_feature_repo(
            self.settings,
            numeric=numeric,
            categorical=categorical,
            offline_source=self.filepath.resolve(),
        )
        write_online(self.settings, data, numeric=numeric, categorical=categorical)

    def _exists(self) -> bool:
        return self.filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self.filepath), "store": self.settings.kind}
