"""Where the online feature store lives and how the service and the job find it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SETTINGS_FILE = "churn_store.json"
# Environment variables the service reads (``OnlineStoreSettings.from_environ``).
ENV_KIND = "CHURN_ONLINE_STORE"
ENV_REDIS_URL = "CHURN_REDIS_URL"
ENV_MAX_AGE_DAYS = "CHURN_FEATURE_MAX_AGE_DAYS"
_ENV_FIELDS = {
    ENV_KIND: "kind",
    ENV_REDIS_URL: "redis_connection_string",
    ENV_MAX_AGE_DAYS: "max_age_days",
}
_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"


class OnlineStoreSettings(BaseModel):
    """The online store's kind, location and Feast names.

    Attributes:
        kind: ``"sqlite"`` (a file next to the repository) or ``"redis"``.
        repo_path: Directory of the generated Feast repository.
        sqlite_path: SQLite file, relative to ``repo_path`` unless absolute.
        redis_connection_string: Feast's Redis format, e.g. ``"host:6379,db=0"``.
        project: Feast project name (letters, digits, underscores).
        feature_view: Name of the feature view holding the account features.
        max_age_days: Stored features older than this are reported stale.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["sqlite", "redis"] = "sqlite"
    repo_path: str = Field("data/06_models/feature_repo", min_length=1)
    sqlite_path: str = Field("online_store.db", min_length=1)
    redis_connection_string: str = Field("localhost:6379", min_length=1)
    project: str = Field("churn_pipeline", pattern=_NAME_PATTERN)
    feature_view: str = Field("account_features", pattern=_NAME_PATTERN)
    max_age_days: float = Field(2.0, gt=0, allow_inf_nan=False)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> OnlineStoreSettings:
        """Validate the settings from a Kedro parameters mapping.

        Raises:
            ValueError: On unknown keys (listing the allowed ones).
            pydantic.ValidationError: On a bad value (naming the key).
        """
        unknown = sorted(set(params) - set(cls.model_fields))
        if unknown:
            raise ValueError(
                f"Unknown online store setting(s) {unknown}; allowed: "
                f"{sorted(cls.model_fields)}"
            )
        return cls.model_validate(dict(params))

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], repo_path: str | Path
    ) -> OnlineStoreSettings:
        """The settings the daily job stored in ``repo_path``, with env overrides.

        Reads ``churn_store.json`` from the repository when present (defaults
        otherwise); ``repo_path`` replaces the stored one, so a relative
        ``sqlite_path`` follows the repository. Non-empty ``CHURN_ONLINE_STORE``
        (``sqlite``/``redis``), ``CHURN_REDIS_URL`` (Feast's ``host:port,db=0``
        or a ``redis://`` URL) and ``CHURN_FEATURE_MAX_AGE_DAYS`` override.

        Raises:
            ValueError: When an environment variable holds an invalid value.
        """
        stored = Path(repo_path) / SETTINGS_FILE
        base = cls.read_json(stored) if stored.is_file() else cls()
        data = base.model_dump() | {"repo_path": str(repo_path)}
        overrides = {
            _ENV_FIELDS[name]: environ[name].strip()
            for name in _ENV_FIELDS
            if environ.get(name, "").strip()
        }
        if "redis_connection_string" in overrides:
            url = overrides["redis_connection_string"]
            overrides["redis_connection_string"] = redis_url_to_feast(url)
        try:
            return cls.model_validate(data | overrides)
        except ValidationError as error:
            names = [name for name, field in _ENV_FIELDS.items() if field in overrides]
            raise ValueError(
                f"Invalid online store settings from the environment ({names}): {error}"
            ) from error

    def write_json(self, path: str | Path) -> None:
        """Write the settings as JSON to ``path``."""
        Path(path).write_text(json.dumps(self.model_dump(), indent=2) + "\n")

    @classmethod
    def read_json(cls, path: str | Path) -> OnlineStoreSettings:
        """Read settings written by :meth:`write_json`."""
        return cls.model_validate_json(Path(path).read_text())

    def sqlite_file(self) -> Path:
        """The SQLite file's path (``sqlite_path`` resolved against ``repo_path``)."""
        path = Path(self.sqlite_path)
        return path if path.is_absolute() else Path(self.repo_path) / path

    def location(self) -> str:
        """Where the store is, for messages: the file or Redis host:port (no secret)."""
        if self.kind == "sqlite":
            return str(self.sqlite_file())
        nodes = [
            part.strip()
            for part in self.redis_connection_string.split(",")
            if "=" not in part
        ]
        return ",".join(nodes) or "?"

    def describe(self) -> str:
        """E.g. ``"SQLite online store at <file>"``, for messages."""
        name = {"sqlite": "SQLite", "redis": "Redis"}[self.kind]
        return f"{name} online store at {self.location()}"


def redis_url_to_feast(url: str) -> str:
    """``redis://[:password@]host:port[/db]`` as Feast's connection string.

    Anything that is not a ``redis://`` or ``rediss://`` URL is returned as is
    (taken to be in Feast's format already).
    """
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"}:
        return url
    fields = [f"{parts.hostname or 'localhost'}:{parts.port or 6379}"]
    database = parts.path.strip("/")
    if database:
        fields.append(f"db={int(database)}")
    if parts.username:
        fields.append(f"username={unquote(parts.username)}")
    if parts.password:
        fields.append(f"password={unquote(parts.password)}")
    if parts.scheme == "rediss":
        fields.append("ssl=true")
    return ",".join(fields)
