"""Datasets that write a temporary sibling file, then rename it onto the target.

A reader (another run, the service, a notebook) sees the previous file or the
new one, never a half-written one, and a save that fails midway leaves the
previous file as it was. On the local filesystem the rename is ``os.replace``
(atomic within a filesystem); other fsspec protocols fall back to ``fs.mv``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from kedro.io.core import get_filepath_str
from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import CSVDataset, ParquetDataset
from kedro_datasets.pickle import PickleDataset
from kedro_datasets.text import TextDataset

TEMP_SUFFIX = ".tmp"


def _unwrapped(save: Callable[[Any], None]) -> Callable[..., None]:
    # Kedro wraps each class's save in logging and error handling; calling the
    # parent's wrapped save from ours would do both twice.
    raw = getattr(save, "__wrapped__", None)
    if raw is None:
        return lambda _self, data: save(data)
    return raw


class AtomicSaveMixin:
    """Make a kedro-datasets file dataset save through a temporary sibling.

    Put it first among the bases; the dataset must write to
    ``self._get_save_path()`` (every file dataset of kedro-datasets does).
    """

    _atomic_temp: PurePosixPath | None = None

    def _get_save_path(self) -> PurePosixPath:
        if self._atomic_temp is not None:
            return self._atomic_temp
        return super()._get_save_path()  # type: ignore[misc]

    def _saves_atomically(self, data: Any) -> bool:
        """Whether ``data`` is one file (not a directory of files)."""
        return True

    def save(self, data: Any) -> None:
        """Save to a temporary sibling, then rename it onto the target path."""
        parent_save = _unwrapped(super().save)  # type: ignore[misc]
        if not self._saves_atomically(data):
            parent_save(self, data)
            return
        target = super()._get_save_path()  # type: ignore[misc]
        # Hidden and with its own suffix: globs for the real files skip it.
        temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")
        fs, protocol = self._fs, self._protocol  # type: ignore[attr-defined]
        temp_str = get_filepath_str(temp, protocol)
        target_str = get_filepath_str(target, protocol)
        self._atomic_temp = temp
        try:
            parent_save(self, data)
            if protocol == "file":
                os.replace(temp_str, target_str)
            else:
                fs.mv(temp_str, target_str)
        finally:
            self._atomic_temp = None
            if fs.exists(temp_str):
                fs.rm(temp_str)
        self._invalidate_cache()  # type: ignore[attr-defined]


class AtomicParquetDataset(AtomicSaveMixin, ParquetDataset):
    """``pandas.ParquetDataset``, saved atomically."""


class AtomicCSVDataset(AtomicSaveMixin, CSVDataset):
    """``pandas.CSVDataset``, saved atomically."""


class AtomicJSONDataset(AtomicSaveMixin, JSONDataset):
    """``json.JSONDataset``, saved atomically."""


class AtomicTextDataset(AtomicSaveMixin, TextDataset):
    """``text.TextDataset``, saved atomically."""


class AtomicPickleDataset(AtomicSaveMixin, PickleDataset):
    """``pickle.PickleDataset``, saved atomically."""


class AtomicMatplotlibDataset(AtomicSaveMixin, MatplotlibDataset):
    """``matplotlib.MatplotlibDataset``; one figure is saved atomically.

    A list or dict of figures is a directory of files, written as the parent
    class writes it.
    """

    def _saves_atomically(self, data: Any) -> bool:
        return not isinstance(data, list | dict)
