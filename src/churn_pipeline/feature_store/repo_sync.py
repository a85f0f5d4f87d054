"""Keep the generated Feast repository in step with what ``write_online`` writes.

``write_online`` may run without a prior ``write_feature_repo`` (or after the
features or settings changed): the repository is then (re)generated. Its
offline source stays where it was; a repository that never had one gets
``offline/<view>.parquet`` inside it, rewritten with every write, so ``feast
materialize`` in the repository always finds the last written day.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from churn_pipeline.feature_store.repo import (
    DEFINITIONS_FILE,
    FeastDefinitions,
    load_definitions,
    write_feature_repo,
)
from churn_pipeline.feature_store.settings import SETTINGS_FILE, OnlineStoreSettings

logger = logging.getLogger(__name__)

OFFLINE_DIR = "offline"


def ensure_feature_repo(
    settings: OnlineStoreSettings,
    numeric: list[str],
    categorical: list[str],
    frame: pd.DataFrame,
) -> FeastDefinitions:
    """The repository's definitions, regenerated first when they do not match.

    Args:
        settings: The online store settings.
        numeric: Numeric feature names, in schema order.
        categorical: Categorical feature names, in schema order.
        frame: The prepared rows being written (the in-repository offline
            source, when the repository uses one).
    """
    repo = Path(settings.repo_path)
    definitions = _existing_definitions(repo)
    problem = _mismatch(settings, numeric, categorical, definitions)
    source = _offline_source(repo, definitions)
    own_source = _own_source(settings)
    if source is None or source.resolve() == own_source.resolve():
        source = own_source
        source.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(source, index=False)
    if problem is None and definitions is not None:
        return definitions
    logger.info("Generating the Feast repository at %s: %s", repo, problem)
    write_feature_repo(
        settings, numeric=numeric, categorical=categorical, offline_source=source
    )
    return load_definitions(repo)


def _existing_definitions(repo: Path) -> FeastDefinitions | None:
    if not (repo / DEFINITIONS_FILE).is_file():
        return None
    try:
        return load_definitions(repo)
    except ValueError as error:
        logger.warning("Unusable definitions in %s (%s): regenerating", repo, error)
        return None


def _mismatch(
    settings: OnlineStoreSettings,
    numeric: list[str],
    categorical: list[str],
    definitions: FeastDefinitions | None,
) -> str | None:
    """Why the repository does not fit ``settings`` and the features, or None."""
    if definitions is None:
        return "it has no definitions yet"
    stored_file = Path(settings.repo_path) / SETTINGS_FILE
    try:
        stored = OnlineStoreSettings.read_json(stored_file)
    except (OSError, ValidationError):
        return f"{SETTINGS_FILE} is missing or invalid"
    if stored.model_dump(exclude={"repo_path"}) != settings.model_dump(
        exclude={"repo_path"}
    ):
        return "it was generated with other settings"
    expected = [(name, "Float64") for name in numeric]
    expected += [(name, "String") for name in categorical]
    view = definitions.feature_view
    found = [(field.name, _type_name(field.dtype)) for field in view.features]
    if view.name != settings.feature_view or found != expected:
        return "its feature view defines other features"
    return None


def _offline_source(repo: Path, definitions: FeastDefinitions | None) -> Path | None:
    """The offline source the definitions point at (relative to the repository)."""
    if definitions is None:
        return None
    path = Path(definitions.source.path)
    return path if path.is_absolute() else repo / path


def _own_source(settings: OnlineStoreSettings) -> Path:
    """The in-repository offline source, for repositories generated here."""
    return Path(settings.repo_path) / OFFLINE_DIR / f"{settings.feature_view}.parquet"


def _type_name(dtype: object) -> str:
    from feast.types import Float64, String  # noqa: PLC0415

    return {Float64: "Float64", String: "String"}.get(dtype, repr(dtype))
