"""What the online store returns: stored features, the job's manifest, errors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class StoreUnavailable(RuntimeError):  # noqa: N818 (the service's vocabulary)
    """The online store cannot be reached or read (kind and location in the text)."""


@dataclass(frozen=True)
class StoredFeatures:
    """One account's features as the daily job stored them.

    Attributes:
        as_of: The features' as-of date (event timestamp), timezone-aware UTC.
        values: Feature name to value: numeric as ``float``, categorical as
            ``str``, missing as ``None``.
    """

    as_of: datetime
    values: dict[str, float | str | None]


@dataclass(frozen=True)
class StoreManifest:
    """What the last write put in the store; kept in the store itself.

    Attributes:
        as_of_date: The newest as-of date written (timezone-aware UTC).
        n_accounts: Number of accounts written.
        written_at: When the write finished (timezone-aware UTC).
        feature_view: The Feast feature view written.
        features: The feature names written, in schema order.
    """

    as_of_date: datetime
    n_accounts: int
    written_at: datetime
    feature_view: str
    features: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (timestamps as UTC ISO 8601 strings)."""
        return {
            "as_of_date": _utc(self.as_of_date).isoformat(),
            "n_accounts": self.n_accounts,
            "written_at": _utc(self.written_at).isoformat(),
            "feature_view": self.feature_view,
            "features": list(self.features),
        }

    def to_json(self) -> str:
        """The manifest as a JSON document."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | bytes) -> StoreManifest:
        """Parse a manifest written by :meth:`to_json`."""
        data = json.loads(text)
        return cls(
            as_of_date=_utc(datetime.fromisoformat(data["as_of_date"])),
            n_accounts=int(data["n_accounts"]),
            written_at=_utc(datetime.fromisoformat(data["written_at"])),
            feature_view=str(data["feature_view"]),
            features=tuple(str(name) for name in data["features"]),
        )


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; naive values are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
