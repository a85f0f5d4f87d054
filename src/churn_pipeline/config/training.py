"""Parameter models of training, evaluation and the model registry."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from churn_pipeline.config.base import (
    Block,
    NonEmptyStr,
    NonNegativeInt,
    PositiveInt,
    one_of,
)
from churn_pipeline.models.ensemble import CLASS_WEIGHTS, MEMBERS

Member = Annotated[str, one_of(MEMBERS)]


class SearchDimension(Block):
    """One hyperparameter's range for Optuna (see models/tuning.py)."""

    type: Literal["int", "float"] = "float"
    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _valid_range(self) -> SearchDimension:
        if self.low > self.high:
            raise ValueError(f"low {self.low} must not exceed high {self.high}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0, got {self.low}")
        return self


class TuningParameters(Block):
    """``model_training.tuning``: Optuna over the members in ``search_space``."""

    n_trials: NonNegativeInt
    n_validation_snapshots: PositiveInt
    # Rows a trial fits on (and scores on), sampled; None: every row.
    max_rows: PositiveInt | None = None
    # Time budget of all trials together, in minutes; None: n_trials alone.
    timeout_minutes: Annotated[float, Field(gt=0.0)] | None = None
    search_space: dict[Member, dict[NonEmptyStr, SearchDimension]] = Field(
        default_factory=dict
    )


class SamplingParameters(Block):
    """``model_training.sampling``: the cap on the rows a model is fitted on."""

    # Above it: a weighted sample, churners kept first (class_shares); None: all.
    max_training_rows: PositiveInt | None = None


class ModelTrainingParameters(Block):
    """``conf/*/parameters_model_training.yml``: the ensemble and its split."""

    random_state: NonNegativeInt
    horizon_days: PositiveInt
    n_test_snapshots: PositiveInt
    n_calibration_snapshots: PositiveInt
    # Estimator arguments per member; an empty block keeps the defaults.
    members: dict[Member, dict[NonEmptyStr, Any] | None] = Field(min_length=1)
    class_weight: Annotated[str | None, one_of(CLASS_WEIGHTS)] = None
    # Feature name or fnmatch pattern -> direction of risk (see models/monotone.py);
    # patterns are resolved against the fitted features, so not checked here.
    monotone_constraints: dict[NonEmptyStr, Literal[-1, 0, 1]] | None = None
    # Calibration share when there are no periods (customer_table).
    calibration_fraction: float = Field(default=0.25, gt=0.0, lt=1.0)
    tuning: TuningParameters
    sampling: SamplingParameters = Field(default_factory=SamplingParameters)


class ModelEvaluationParameters(Block):
    """``conf/*/parameters_model_evaluation.yml``: the rolling-origin backtest."""

    backtest_origins: PositiveInt


class ModelRegistryParameters(Block):
    """``conf/*/parameters_model_registry.yml``: registration and champion gate."""

    model_name: NonEmptyStr
    champion_alias: NonEmptyStr
    # A metric the run logs (higher is better).
    champion_metric: NonEmptyStr
    n_input_example_rows: PositiveInt
    # How many of the ensemble's own sds of champion_metric the default-XGBoost
    # baseline may lead by before promotion is refused (0: strictly not below).
    baseline_tolerance_sd: float = Field(default=1.0, ge=0.0)
