"""A dataclass of equally long per-account arrays that can be subset and joined."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Self

import numpy as np


@dataclass
class ArrayBundle:
    """Base class for dataclasses whose fields are arrays indexed by account."""

    @property
    def size(self) -> int:
        """Number of accounts."""
        return len(getattr(self, fields(self)[0].name))

    def take(self, idx: np.ndarray) -> Self:
        """Return a copy holding only the accounts at positions ``idx``."""
        return type(self)(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def concat(self, other: Self) -> Self:
        """Return the accounts of ``self`` followed by those of ``other``."""
        return type(self)(
            **{
                f.name: np.concatenate([getattr(self, f.name), getattr(other, f.name)])
                for f in fields(self)
            }
        )
