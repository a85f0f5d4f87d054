"""The customer_table parameter model: defaults, label values, roles, choices."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from tests.pipelines.customer_table.tables import PARAMS

from churn_pipeline.config.customer_table import CustomerTableParameters


def _model(**overrides: Any) -> CustomerTableParameters:
    return CustomerTableParameters.model_validate({**PARAMS, **overrides})


def test_defaults_of_the_new_keys():
    params = {k: v for k, v in PARAMS.items() if k not in {"id_column", "tuning"}}
    settings = CustomerTableParameters.model_validate(params)
    assert settings.id_column is None
    assert settings.duplicates == "group"
    assert settings.tuning.n_trials == 3
    assert settings.tuning.inner_folds == 2
    assert settings.mapping.model_dump(exclude_defaults=True) == {}


def test_numeric_label_values_become_text():
    settings = _model(positive_labels=[1], negative_labels=[0.0])
    assert settings.positive_labels == ["1"]
    assert settings.negative_labels == ["0"]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"positive_labels": [True]}, "YAML boolean: quote it"),
        ({"duplicates": "merge"}, r"must be one of \['keep', 'drop', 'group'\]"),
        ({"tuning": {"n_trials": 2, "inner_folds": 1}}, "inner_folds"),
        ({"tuning": {"trials": 2}}, "Extra inputs are not permitted"),
        ({"mapping": {"rename": {}}}, "Extra inputs are not permitted"),
        (
            {"categorical_columns": ["contract", "months"]},
            r"each column takes one role.*'months': \['numeric_columns', "
            r"'categorical_columns'\]",
        ),
        ({"label_column": "cust"}, r"'cust': \['id_column', 'label_column'\]"),
    ],
)
def test_bad_settings_are_named(overrides, match):
    with pytest.raises(ValidationError, match=match):
        _model(**overrides)
