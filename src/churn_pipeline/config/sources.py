"""Which parameters file (or ``--params``) set a parameter, for error messages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kedro.config import OmegaConfigLoader

RUNTIME = "--params"


def _has_path(tree: Any, path: Sequence[Any]) -> bool:
    for part in path:
        if not isinstance(tree, Mapping) or part not in tree:
            return False
        tree = tree[part]
    return True


@dataclass(frozen=True)
class ParameterSources:
    """Where each top-level parameter block comes from.

    Attributes:
        base_files: ``(label, top-level keys)`` per parameters file of the
            base environment.
        env_files: The same for the run's environment, which overrides base.
        runtime: The run's ``--params`` (nested), which override every file.
        env: The run's environment.
    """

    base_files: tuple[tuple[str, frozenset[str]], ...] = ()
    env_files: tuple[tuple[str, frozenset[str]], ...] = ()
    runtime: Mapping[str, Any] = field(default_factory=dict)
    env: str | None = None

    @classmethod
    def from_loader(
        cls, loader: OmegaConfigLoader, project_path: Path | None = None
    ) -> ParameterSources:
        """Read the parameters files the loader merges, without resolving them.

        Args:
            loader: The run's config loader (its environments and patterns).
            project_path: Labels are relative to it when the files are inside.
        """
        env = loader.env or loader.default_run_env
        patterns = loader.config_patterns["parameters"]
        root = Path(loader.conf_source)

        def files(name: str) -> tuple[tuple[str, frozenset[str]], ...]:
            paths = {
                path
                for pattern in patterns
                for path in (root / name).glob(pattern)
                if path.is_file() and path.suffix in {".yml", ".yaml", ".json"}
            }
            return tuple(
                (_label(path, project_path), frozenset(_top_keys(path)))
                for path in sorted(paths)
            )

        env_files = files(env) if env and env != loader.base_env else ()
        return cls(
            files(loader.base_env), env_files, dict(loader.runtime_params or {}), env
        )

    def source_of(self, path: Sequence[Any]) -> str:
        """The file (or ``--params``) that set the value at ``path``.

        Kedro replaces a whole top-level block when the run's environment
        defines it, and ``--params`` override single keys; the source is the
        last of those that defines the path.
        """
        if not path:
            return "parameters"
        if _has_path(self.runtime, path):
            return RUNTIME
        top = path[0]
        for label, keys in reversed(self.env_files):
            if top in keys:
                return label
        if top in self.runtime and self.env_files:
            # Kedro merges --params into each environment's parameters, then the
            # run's environment replaces whole top-level blocks of base.
            return (
                f"{RUNTIME} (with --env {self.env}, Kedro takes the whole `{top}` "
                f"block from --params: give all its keys there)"
            )
        for label, keys in reversed(self.base_files):
            if top in keys:
                return label
        return "parameters"


def _top_keys(path: Path) -> list[str]:
    content = yaml.safe_load(path.read_text())
    return list(content) if isinstance(content, Mapping) else []


def _label(path: Path, project_path: Path | None) -> str:
    if project_path is not None and path.is_relative_to(project_path):
        return path.relative_to(project_path).as_posix()
    return path.as_posix()
