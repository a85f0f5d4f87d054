"""A raw table the data does not have."""

from __future__ import annotations

from typing import Any

from kedro.io import AbstractDataset, DatasetError


class AbsentTableDataset(AbstractDataset[None, None]):
    """Declares that an optional table does not exist in this environment.

    Loading returns ``None``; the validation step turns that into an empty table
    and records it as absent, and no features are computed from it. Of the
    ingestion's source tables, the accounts may be absent (derived from the
    periods) and the churn events when ``ingestion.churn.source`` is ``gap``.
    Saving is an error: an absent table is an input, never an output.
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
