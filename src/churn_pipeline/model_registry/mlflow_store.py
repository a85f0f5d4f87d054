"""Log, register and promote churn models in MLflow; load the champion back."""

from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from churn_pipeline.model_registry.pyfunc import (
    MODEL_CODE,
    churn_signature,
    save_ensemble,
)
from churn_pipeline.models import ChurnEnsemble, ChurnExplainer
from churn_pipeline.models.baseline import BASELINE
from churn_pipeline.scoring.policy import ScoringPolicy

logger = logging.getLogger(__name__)

# Our own registry holds only models this project trained, so loading them is
# trusted; MLflow refuses to unpickle models unless this is set.
_ALLOW_UNPICKLE = "MLFLOW_ALLOW_PICKLE_DESERIALIZATION"


# What unpickling the model needs. Listing it spares MLflow a slow import-tracing
# subprocess; churn_pipeline itself must be installed wherever the model loads.
_MODEL_DISTRIBUTIONS = (
    "scikit-learn",
    "xgboost-cpu",
    "lightgbm",
    "shap",
    "pandas",
    "numpy",
    "scipy",
)


def _pinned_requirements() -> list[str]:
    return [f"{name}=={version(name)}" for name in _MODEL_DISTRIBUTIONS]


@dataclass(frozen=True)
class ChampionDecision:
    """Whether a new model version became the champion, and why."""

    model_name: str
    version: str
    promoted: bool
    metric: str
    new_value: float
    champion_version: str | None
    champion_value: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON and MLflow tags."""
        return dict(self.__dict__)


def log_and_register(
    model: ChurnEnsemble,
    input_example: pd.DataFrame,
    policy: ScoringPolicy,
    *,
    model_name: str,
) -> str:
    """Log the fitted model in the active run and register a new version.

    It is logged as a pyfunc (``model_registry.pyfunc``) whose ``predict``
    answers a ``churn_probability`` column, as its signature says;
    :func:`load_model` unwraps the ensemble again.

    Args:
        model: The fitted ensemble (preprocessing included).
        input_example: A few rows of model features.
        policy: Scoring policy served with this model.
        model_name: Registered model name.

    Returns:
        The new model version.
    """
    features = input_example[list(model.feature_names_in_)]
    with tempfile.TemporaryDirectory() as scratch:
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(MODEL_CODE),
            artifacts=save_ensemble(model, Path(scratch)),
            signature=churn_signature(model, features),
            input_example=features,
            metadata={"scoring_policy": policy.to_dict()},
            pip_requirements=_pinned_requirements(),
            registered_model_name=model_name,
        )
    version = str(info.registered_model_version)
    logger.info("Registered %s version %s", model_name, version)
    return version


@dataclass(frozen=True)
class BaselineCheck:
    """Whether the candidate is not worse than the default-XGBoost baseline.

    Attributes:
        passed: ``False`` only when the baseline is ahead beyond the tolerance;
            ``True`` also when the run logged no baseline to compare with.
        reason: The numbers and the rule, for the decision's reason.
    """

    passed: bool
    reason: str


def _usable(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def check_against_baseline(
    metrics: Mapping[str, float], metric: str, tolerance_sd: float
) -> BaselineCheck:
    """Compare the candidate's ``metric`` with the baseline's, allowing for noise.

    The candidate fails when ``metrics[metric]`` is below
    ``metrics["baseline_xgboost_" + metric]`` by more than ``tolerance_sd``
    times the candidate's own standard deviation of the metric (its ``_sd``
    twin when ``metric`` ends in ``_mean``; 0 otherwise, a single value).

    Args:
        metrics: The run's evaluation metrics (higher is better for ``metric``).
        metric: The champion metric.
        tolerance_sd: How many of the candidate's sds the baseline may lead by.

    Returns:
        The check; it passes, saying so, when the baseline's metric is missing.

    Raises:
        ValueError: If ``metric`` itself is missing or ``tolerance_sd`` < 0.
    """
    if tolerance_sd < 0:
        raise ValueError(f"baseline_tolerance_sd must be >= 0, got {tolerance_sd}")
    if metric not in metrics:
        raise ValueError(
            f"The champion metric {metric!r} is not among the run's metrics: "
            f"{sorted(metrics)}"
        )
    value, baseline_name = float(metrics[metric]), f"{BASELINE}_{metric}"
    baseline = metrics.get(baseline_name)
    if not _usable(baseline):
        return BaselineCheck(True, f"no {baseline_name} logged: baseline not checked")
    sd_name = metric.removesuffix("_mean") + "_sd" if metric.endswith("_mean") else None
    sd = float(metrics.get(sd_name, 0.0)) if sd_name else 0.0
    sd = sd if _usable(sd) else 0.0
    compared = f"ensemble {metric} {value:.4f}"
    if value >= baseline:
        return BaselineCheck(True, f"{compared} >= {BASELINE}'s {baseline:.4f}")
    passed = value >= baseline - tolerance_sd * sd
    reason = (
        f"{compared} is below {BASELINE}'s {baseline:.4f} by "
        f"{'no more' if passed else 'more'} than {tolerance_sd:g} x sd {sd:.4f}"
    )
    return BaselineCheck(passed, reason if passed else f"{reason}: not promoted")


def promote_if_not_worse(
    client: MlflowClient,
    *,
    model_name: str,
    alias: str,
    version: str,
    metric: str,
    new_value: float,
    baseline: BaselineCheck | None = None,
) -> ChampionDecision:
    """Move ``alias`` to ``version`` unless it is worse than the champion or baseline.

    Args:
        client: MLflow client on the tracking/registry store.
        model_name: Registered model name.
        alias: Alias marking the champion.
        version: The candidate version.
        metric: Run metric compared (higher is better).
        new_value: The candidate's value of ``metric``.
        baseline: The candidate against the default-XGBoost baseline
            (:func:`check_against_baseline`); a failed check refuses promotion
            whatever the champion scores. ``None``: not checked.

    Returns:
        The decision with the numbers it used; its reason starts with the
        baseline check's when one was made.
    """
    try:
        current = client.get_model_version_by_alias(model_name, alias)
    except mlflow.exceptions.MlflowException:
        current = None
    if current is None:
        promoted, old_version, old_value = True, None, None
        reason = f"no version held alias '{alias}'"
    else:
        old_version = str(current.version)
        old_value = client.get_run(current.run_id).data.metrics.get(metric)
        if old_value is None or math.isnan(old_value):
            # A champion without a usable score must not block every successor.
            promoted, old_value = True, None
            reason = f"champion v{old_version} has no usable {metric}"
        else:
            promoted = new_value >= old_value
            comparison = ">=" if promoted else "<"
            reason = (
                f"{metric} {new_value:.4f} {comparison} champion v{old_version}'s "
                f"{old_value:.4f}"
            )
    if baseline is not None:
        promoted = promoted and baseline.passed
        reason = f"{baseline.reason}; {reason}"
    if promoted:
        client.set_registered_model_alias(model_name, alias, version)
    decision = ChampionDecision(
        model_name=model_name,
        version=version,
        promoted=promoted,
        metric=metric,
        new_value=float(new_value),
        champion_version=old_version,
        champion_value=None if old_value is None else float(old_value),
        reason=reason,
    )
    log = logger.info if baseline is None or baseline.passed else logger.warning
    log(
        "%s v%s %s: %s",
        model_name,
        version,
        "promoted to champion" if promoted else "not promoted",
        reason,
    )
    return decision


def load_model(model_uri: str) -> tuple[ChurnEnsemble, ScoringPolicy]:
    """Load a registered churn model and the scoring policy stored with it.

    Args:
        model_uri: e.g. ``models:/churn-model@champion``.

    Returns:
        The fitted ensemble and its scoring policy.
    """
    os.environ.setdefault(_ALLOW_UNPICKLE, "true")
    # The MLmodel file itself: a local copy (a Bento's) needs no tracking server.
    logged = mlflow.models.Model.load(model_uri)
    if "sklearn" in logged.flavors:
        # Versions registered before the pyfunc wrapper: the bare ensemble.
        model = mlflow.sklearn.load_model(model_uri)
    else:
        model = mlflow.pyfunc.load_model(model_uri).unwrap_python_model().model
    policy = ScoringPolicy.from_dict((logged.metadata or {})["scoring_policy"])
    return model, policy


# Run metrics a caller of the service may want to see next to the model.
_HEADLINE_METRICS = ("test_roc_auc", "test_brier", "test_empc", "backtest_empc_mean")


@dataclass(frozen=True)
class ServedModel:
    """A registered model as a service serves it: the model and where it is from.

    Attributes:
        model: The fitted ensemble.
        policy: The scoring policy registered with it.
        uri: The model URI it was loaded from.
        name: Registered model name.
        version: Registered version.
        alias: The alias the URI named (e.g. ``champion``), if any.
        metrics: Headline metrics of the run that trained it.
        explainer: The model's explainer, built with it so the first request
            finds its tree SHAP tables ready.
    """

    model: ChurnEnsemble
    policy: ScoringPolicy
    uri: str
    name: str
    version: str
    alias: str | None
    metrics: dict[str, float]
    explainer: ChurnExplainer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen: set once here, before any request can see this object.
        object.__setattr__(self, "explainer", ChurnExplainer(self.model))


def load_served_model(model_uri: str) -> ServedModel:
    """Load a registered model with its version, alias and headline metrics.

    Args:
        model_uri: ``models:/<name>@<alias>`` or ``models:/<name>/<version>``.

    Returns:
        The served model.

    Raises:
        ValueError: If the URI is not a registry URI of either form.
    """
    reference = model_uri.removeprefix("models:/")
    if reference == model_uri or not reference:
        raise ValueError(
            f"Serve a registered model: models:/<name>@<alias> or "
            f"models:/<name>/<version>, got {model_uri!r}"
        )
    client = MlflowClient()
    if "@" in reference:
        name, alias = reference.split("@", 1)
        entry = client.get_model_version_by_alias(name, alias)
    else:
        name, _, number = reference.partition("/")
        alias, entry = None, client.get_model_version(name, number)
    model, policy = load_model(model_uri)
    run_metrics = client.get_run(entry.run_id).data.metrics if entry.run_id else {}
    return ServedModel(
        model=model,
        policy=policy,
        uri=model_uri,
        name=name,
        version=str(entry.version),
        alias=alias,
        metrics={
            k: float(run_metrics[k]) for k in _HEADLINE_METRICS if k in run_metrics
        },
    )
