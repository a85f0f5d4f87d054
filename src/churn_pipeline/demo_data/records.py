"""Collects simulated rows day by day in compact arrays."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

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
    """Append-only store of row chunks per table."""

    def __init__(self) -> None:
        self._chunks: dict[str, list[dict[str, np.ndarray]]] = {
            table: [] for table in SCHEMAS
        }

    def add(self, table: str, columns: Mapping[str, np.ndarray | int]) -> None:
        """Append rows; scalar values are broadcast to the chunk length."""
        schema = SCHEMAS[table]
        length = len(columns["acc"])
        if length == 0:
            return
        chunk = {
            name: np.broadcast_to(np.asarray(columns[name], dtype=dtype), length)
            for name, dtype in schema.items()
        }
        self._chunks[table].append(chunk)

    def columns(self, table: str) -> dict[str, np.ndarray]:
        """Return all rows of ``table`` as one array per column."""
        chunks = self._chunks[table]
        return {
            name: np.concatenate([c[name] for c in chunks])
            if chunks
            else np.empty(0, dtype=dtype)
            for name, dtype in SCHEMAS[table].items()
        }

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
