"""Collects simulated rows day by day in compact arrays."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

# Narrow dtypes keep the usage log (the big table) memory-lean until the end.
SCHEMAS: dict[str, dict[str, type[np.generic]]] = {
    "events": {
        "acc": np.int32,
        "day": np.int32,
        "kind": np.int8,
        "plan": np.int8,
        "seats": np.int32,
        "mrr": np.float64,
        "churn_type": np.int8,
        "reason": np.int8,
    },
    "usage": {
        "acc": np.int32,
        "day": np.int32,
        "logins": np.int32,
        "active_users": np.int32,
        "uses_reports": np.int32,
        "uses_dashboards": np.int32,
        "uses_integrations": np.int32,
        "uses_automations": np.int32,
    },
    "tickets": {
        "acc": np.int32,
        "day": np.int32,
        "open_second": np.int32,
        "duration_seconds": np.int64,
        "priority": np.int8,
        "satisfaction": np.float32,
    },
    "invoices": {
        "acc": np.int32,
        "day": np.int32,
        "amount": np.float64,
        "failed": np.bool_,
        "attempts": np.int8,
    },
    "nps": {"acc": np.int32, "day": np.int32, "score": np.int8},
}


class Recorder:
    """Row chunks per table, appended day by day and concatenated at the end."""

    def __init__(self) -> None:
        self._chunks: dict[str, list[dict[str, np.ndarray]]] = {
            table: [] for table in SCHEMAS
        }

    def add(self, table: str, columns: Mapping[str, npt.ArrayLike]) -> None:
        """Append rows; scalar values are broadcast to the chunk length."""
        schema = SCHEMAS[table]
        length = np.size(columns["acc"])
        if length == 0:
            return
        chunk = {
            name: _column(columns[name], dtype, length)
            for name, dtype in schema.items()
        }
        self._chunks[table].append(chunk)

    def add_draw(self, table: str, day: int, draw: object) -> None:
        """Append a day's draw whose attributes are named like the table's columns.

        Args:
            table: A table of :data:`SCHEMAS`.
            day: The simulated day, for every row.
            draw: A draw with ``acc`` and one array per other column of the table.
        """
        columns = {
            name: day if name == "day" else getattr(draw, name)
            for name in SCHEMAS[table]
        }
        self.add(table, columns)

    def pop_columns(self, table: str) -> dict[str, np.ndarray]:
        """Remove all rows of ``table`` and return them as one array per column.

        Chunks are released column by column, so the peak memory is one table
        plus one column rather than two copies of the table.
        """
        chunks = self._chunks[table]
        self._chunks[table] = []
        columns = {}
        for name, dtype in SCHEMAS[table].items():
            parts = [chunk.pop(name) for chunk in chunks]
            columns[name] = np.concatenate(parts) if parts else np.empty(0, dtype)
            del parts
        return columns

    def remap_accounts(self, new_index: np.ndarray) -> None:
        """Renumber accounts; rows of accounts mapped to -1 are dropped."""
        for table, chunks in self._chunks.items():
            remapped = []
            for chunk in chunks:
                acc = new_index[chunk["acc"]]
                keep = acc >= 0
                kept = {name: col[keep] for name, col in chunk.items()}
                kept["acc"] = acc[keep].astype(np.int32)
                if keep.any():
                    remapped.append(kept)
            self._chunks[table] = remapped


def _column(value: npt.ArrayLike, dtype: type[np.generic], length: int) -> np.ndarray:
    array = np.asarray(value, dtype=dtype)
    # A zero-stride view stores a per-chunk constant (e.g. the day) in one slot.
    return np.broadcast_to(array, length) if array.ndim == 0 else array
