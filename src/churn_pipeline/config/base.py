"""Shared pieces of the parameter models: strict models, named choices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class Block(BaseModel):
    """A block of parameters: unknown keys are errors, values are read-only."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def one_of(allowed: Iterable[Any]) -> AfterValidator:
    """A validator that accepts only the values in ``allowed``.

    Built from the constants the consuming code checks against, so the
    configuration check and the code cannot drift apart.
    """
    choices = tuple(allowed)

    def check(value: Any) -> Any:
        if value not in choices:
            raise ValueError(f"must be one of {list(choices)}, got {value!r}")
        return value

    return AfterValidator(check)


NonEmptyStr = Annotated[str, Field(min_length=1)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
