"""Parameter model of the customer_table input kind: one row per customer."""

from __future__ import annotations

import datetime as dt

from pydantic import Field, model_validator

from churn_pipeline.config.base import Block, NonEmptyStr
from churn_pipeline.config.data import ValidationMode


class CustomerTableParameters(Block):
    """``conf/*/parameters_customer_table.yml``: one row per customer."""

    id_column: NonEmptyStr
    label_column: NonEmptyStr
    positive_labels: list[str] = Field(min_length=1)
    negative_labels: list[str] = Field(min_length=1)
    numeric_columns: list[NonEmptyStr]
    categorical_columns: list[NonEmptyStr]
    drop_columns: list[NonEmptyStr]
    blank_as_missing: bool = True
    mode: ValidationMode
    cv_folds: int = Field(ge=2)
    as_of_date: dt.date | None

    @model_validator(mode="after")
    def _labels_disjoint(self) -> CustomerTableParameters:
        both = sorted(set(self.positive_labels) & set(self.negative_labels))
        if both:
            raise ValueError(f"labels {both} are both positive and negative")
        return self
