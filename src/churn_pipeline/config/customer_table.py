"""Parameter model of the customer_table input kind: one row per customer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from churn_pipeline.config.base import Block, NonEmptyStr, NonNegativeInt, one_of
from churn_pipeline.config.data import TableMapping, ValidationMode
from churn_pipeline.customer_table.folds import DUPLICATE_MODES, GROUP


def _label_text(value: Any) -> Any:
    # YAML reads an unquoted yes/no as a boolean: "Yes" would never match.
    if isinstance(value, bool):
        raise ValueError(
            f'label value {value!r} is a YAML boolean: quote it ("Yes", "No")'
        )
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return value


LabelValue = Annotated[NonEmptyStr, BeforeValidator(_label_text)]


class CustomerTuning(Block):
    """``customer_table.tuning``: nested tuning inside each CV fold."""

    n_trials: NonNegativeInt = 3
    inner_folds: int = Field(default=2, ge=2)


class CustomerTableParameters(Block):
    """``conf/*/parameters_customer_table.yml``: one row per customer.

    Nodes read their parameters through this model, so the defaults here are
    the ones a run uses when an environment's block leaves a key out.
    """

    id_column: NonEmptyStr | None = None
    label_column: NonEmptyStr
    positive_labels: list[LabelValue] = Field(min_length=1)
    negative_labels: list[LabelValue] = Field(min_length=1)
    numeric_columns: list[NonEmptyStr]
    categorical_columns: list[NonEmptyStr]
    drop_columns: list[NonEmptyStr] = Field(default_factory=list)
    mapping: TableMapping = Field(default_factory=TableMapping)
    blank_as_missing: bool = True
    mode: ValidationMode = "strict"
    duplicates: Annotated[str, one_of(DUPLICATE_MODES)] = GROUP
    cv_folds: int = Field(default=5, ge=2)
    tuning: CustomerTuning = Field(default_factory=CustomerTuning)
    as_of_date: dt.date | None = None

    @model_validator(mode="after")
    def _labels_disjoint(self) -> CustomerTableParameters:
        both = sorted(set(self.positive_labels) & set(self.negative_labels))
        if both:
            raise ValueError(f"labels {both} are both positive and negative")
        return self

    @model_validator(mode="after")
    def _one_role_per_column(self) -> CustomerTableParameters:
        roles: dict[str, list[str]] = {}
        singles = {"id_column": self.id_column, "label_column": self.label_column}
        for key, column in singles.items():
            if column is not None:
                roles.setdefault(column, []).append(key)
        for key in ("numeric_columns", "categorical_columns", "drop_columns"):
            for column in getattr(self, key):
                roles.setdefault(column, []).append(key)
        shared = {column: keys for column, keys in roles.items() if len(keys) > 1}
        if shared:
            raise ValueError(f"each column takes one role; these take more: {shared}")
        return self
