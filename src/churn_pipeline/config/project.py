"""All parameters of a run, checked at once: the file, the key and the rule."""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from churn_pipeline.config.base import Block, one_of
from churn_pipeline.config.customer_table import CustomerTableParameters
from churn_pipeline.config.data import (
    DataValidationParameters,
    DemoDataParameters,
    FeatureEngineeringParameters,
    IngestionParameters,
)
from churn_pipeline.config.scoring import (
    ProfitParameters,
    ReportingParameters,
    ScoringParameters,
)
from churn_pipeline.config.sources import ParameterSources
from churn_pipeline.config.training import (
    ModelEvaluationParameters,
    ModelRegistryParameters,
    ModelTrainingParameters,
)
from churn_pipeline.pipeline_registry import DEFAULT_INPUT_KIND, INPUT_KINDS

DEFAULT_PIPELINE = "__default__"


class ProjectParameters(Block):
    """Every parameter block of a run.

    One block per parameters file; ``parameters.yml`` holds two: ``input_kind``
    and ``profit``.
    """

    input_kind: Annotated[str, one_of(INPUT_KINDS)]
    profit: ProfitParameters
    customer_table: CustomerTableParameters
    data_validation: DataValidationParameters
    demo_data: DemoDataParameters
    feature_engineering: FeatureEngineeringParameters
    ingestion: IngestionParameters
    model_evaluation: ModelEvaluationParameters
    model_registry: ModelRegistryParameters
    model_training: ModelTrainingParameters
    reporting: ReportingParameters
    scoring: ScoringParameters


class ParameterError(ValueError):
    """Parameters that break their model; one line per problem.

    Attributes:
        problems: ``(source, key path, message)`` per problem.
    """

    def __init__(self, problems: Sequence[tuple[str, str, str]]) -> None:
        self.problems = tuple(problems)
        lines = [f"  {source}: {key}: {message}" for source, key, message in problems]
        super().__init__(
            f"Invalid parameters ({len(problems)} problem(s)):\n" + "\n".join(lines)
        )


def validate_parameters(
    params: Mapping[str, Any], sources: ParameterSources | None = None
) -> ProjectParameters:
    """Check the merged parameters of a run against ``ProjectParameters``.

    Args:
        params: The merged parameters (``context.params``).
        sources: Where each block was set, to name the file in errors.

    Returns:
        The validated parameters (nodes keep receiving the plain dicts).

    Raises:
        ParameterError: Naming, per problem, the parameters file (or
            ``--params``), the key path and the rule or allowed values.
    """
    sources = sources or ParameterSources()
    try:
        validated = ProjectParameters.model_validate(params)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            path = tuple(p for p in detail["loc"] if p != "[key]")
            key = ".".join(str(p) for p in path) or "(top level)"
            problems.append((sources.source_of(path), key, _message(detail)))
        raise ParameterError(problems) from None
    problems = [
        (sources.source_of(path), ".".join(path), message)
        for path, message in _across_files(validated)
    ]
    if problems:
        raise ParameterError(problems)
    return validated


def _across_files(params: ProjectParameters) -> list[tuple[tuple[str, ...], str]]:
    """Rules that tie keys of different files together: (key path, message)."""
    churn = params.ingestion.churn
    delay = params.feature_engineering.label_delay_days
    uses_gaps = params.input_kind == "subscription_periods" and churn.source == "gap"
    if uses_gaps and delay < churn.gap_days:
        return [
            (
                ("feature_engineering", "label_delay_days"),
                f"is {delay}, but churn comes from gaps of ingestion.churn.gap_days="
                f"{churn.gap_days}: a churn is known only that many days after the "
                "subscription ends, so the newest labels would miss churners; set "
                f"label_delay_days to at least {churn.gap_days}",
            )
        ]
    return []


def check_input_kind(
    input_kind: str,
    pipeline_names: Iterable[str] | None,
    *,
    env: str | None,
    source: str,
) -> None:
    """Refuse a run of another input kind's pipeline than the environment's.

    Args:
        input_kind: The environment's ``input_kind``.
        pipeline_names: The requested pipelines (None: ``__default__``).
        env: The run's ``--env`` (None: the default environment).
        source: The file that set ``input_kind``.

    Raises:
        ValueError: If a requested pipeline is the pipeline of another kind.
    """
    names = list(pipeline_names or [DEFAULT_PIPELINE])
    kinds = {DEFAULT_INPUT_KIND if n == DEFAULT_PIPELINE else n for n in names}
    other = sorted((kinds & set(INPUT_KINDS)) - {input_kind})
    if other:
        env_flag = f" --env {env}" if env else ""
        raise ValueError(
            f"{source} sets input_kind: {input_kind}, but the run asked for the "
            f"{', '.join(other)} pipeline; run `kedro run{env_flag} --pipelines "
            f"{input_kind}`"
        )


def _message(detail: ErrorDetails) -> str:
    if detail["type"] == "extra_forbidden":
        model = _model_at(ProjectParameters, detail["loc"][:-1])
        allowed = sorted(model.model_fields) if model else []
        return f"unknown key; allowed keys: {allowed}"
    message = detail["msg"].removeprefix("Value error, ")
    if detail["type"] in {"missing", "value_error", "assertion_error"}:
        return message
    return f"{message}, got {detail['input']!r}"


def _model_at(model: type[BaseModel], path: Sequence[Any]) -> type[BaseModel] | None:
    """The parameter model that validates the mapping at ``path``, if any."""
    current: Any = model
    for part in path:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in {dict, list}:
            current = get_args(current)[-1]
        else:
            return None
    current = _unwrap(current)
    is_model = isinstance(current, type) and issubclass(current, BaseModel)
    return current if is_model else None


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, ...]`` and ``X | None`` -> ``X``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in {Union, types.UnionType}:
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation
