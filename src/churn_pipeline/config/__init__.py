"""Parameter models: each parameters file checked when a run starts."""

from churn_pipeline.config.project import (
    ParameterError,
    ProjectParameters,
    check_input_kind,
    validate_parameters,
)
from churn_pipeline.config.sources import ParameterSources

__all__ = [
    "ParameterError",
    "ParameterSources",
    "ProjectParameters",
    "check_input_kind",
    "validate_parameters",
]
