"""Current features, saved to the generated Feast repository and its online store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset


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
        from churn_pipeline.features import spec_of  # noqa: PLC0415

        specs = {c: spec for c in data.columns if (spec := spec_of(c))}
        numeric = [c for c, spec in specs.items() if spec.kind == "numeric"]
        categorical = [c for c, spec in specs.items() if spec.kind != "numeric"]
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
