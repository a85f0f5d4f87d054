"""Synthetic model-input snapshots with a known churn signal, a small model, and
a throwaway MLflow store.

Shared by the model, scoring, API, registry and pipeline-node tests (import it as
``tests.models.synthetic``). Expensive objects are built once per test session
(``functools.cache``); the table helpers return fresh copies, so a test may
change what it gets without touching the cache.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import yaml
from mlflow.tracking import MlflowClient
from scipy.special import expit
from threadpoolctl import threadpool_limits

from churn_pipeline.features import CATEGORICAL_FEATURES, FEATURES, NUMERIC_FEATURES
from churn_pipeline.features.specs import DAYS_PER_MONTH
from churn_pipeline.models import ChurnEnsemble

HORIZON_DAYS = 30
# Month ends. 2024-01-31 + 30 days = 2024-03-01 lies after the next as-of date
# (2024-02-29), so with two calibration periods the 2024-01-31 rows are neither
# member-fit nor calibration rows: the leakage rule has something to exclude.
FIT_DATES = pd.date_range("2023-08-31", periods=8, freq="ME")
CALIBRATION_START = pd.Timestamp("2024-02-29")
EXCLUDED_DATE = pd.Timestamp("2024-01-31")
# Later, unseen periods drawn from the same process.
HOLDOUT_DATES = pd.date_range("2024-04-30", periods=2, freq="ME")

N_ACCOUNTS = 400
N_HOLDOUT_ACCOUNTS = 2000

# The project's domain priors exactly as configured (patterns over windows and
# ratios), so the behaviour tests check the shipped constraints.
MONOTONE_CONSTRAINTS: dict[str, int] = yaml.safe_load(
    (Path(__file__).parents[2] / "conf/base/parameters_model_training.yml").read_text()
)["model_training"]["monotone_constraints"]
# One thread: on a small (2 vCPU) machine XGBoost's two OpenMP threads fight
# the BLAS threads of the logistic fits; a fit then takes ~12 s instead of ~2 s.
XGBOOST_PARAMS = {"n_estimators": 50, "max_depth": 3, "learning_rate": 0.1, "n_jobs": 1}
LIGHTGBM_PARAMS = {"n_estimators": 50, "num_leaves": 7, "n_jobs": 1}

# Registry examples first, then values a real business might add.
CATEGORIES = {
    "plan": ["pro", "basic", "enterprise", "starter"],
    "billing_cycle": ["monthly", "annual"],
    "industry": ["software", "retail", "finance", "healthcare", "education", "other"],
    "acquisition_channel": ["organic", "paid_search", "referral", "partner"],
    "country": ["US", "GB", "DE", "FR", "NL", "CA"],
}
_PRICE = {"basic": 15.0, "pro": 40.0, "enterprise": 90.0, "starter": 8.0}

# Campaign economics and scoring parameters as in conf/base (literature defaults).
PROFIT_PARAMS: dict[str, float] = {
    "clv": 200.0,
    "incentive_cost": 10.0,
    "contact_cost": 1.0,
    "alpha": 6.0,
    "beta": 14.0,
    "accept_rate": 0.3,
}
# The playbook exactly as configured, so tests exercise the shipped rules.
PLAYBOOK_PARAMS: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parents[2] / "conf/base/parameters_scoring.yml").read_text()
)["scoring"]["playbook"]
SCORING_PARAMS: dict[str, Any] = {
    "risk_bands": {"yellow_from": 0.05, "red_from": 0.15},
    "contact_threshold": None,
    "n_reasons": 3,
    "playbook": PLAYBOOK_PARAMS,
}


def churn_logit(frame: pd.DataFrame) -> pd.Series:
    """True log-odds of churn: fewer logins, inactivity, stale tickets, failed
    payments and a low NPS raise risk; tenure lowers it a little."""
    nps = frame["last_nps"].fillna(7.0)
    return (
        -0.2
        - 0.7 * np.log1p(frame["logins_30d"])
        + 0.04 * frame["days_since_last_login"]
        + 0.6 * frame["tickets_open_over_5d"]
        + 0.8 * frame["failed_payments_90d"]
        - 0.15 * (nps - 7.0)
        - 0.0006 * frame["tenure_days"]
    )


def make_snapshots(
    as_of_dates: Sequence[pd.Timestamp] | pd.DatetimeIndex,
    n_accounts: int,
    seed: int,
    *,
    labelled: bool = True,
) -> pd.DataFrame:
    """One row per (account, as-of date) with every registry feature and a label.

    A latent health drives correlated usage, support and NPS features (as in a
    real product, logins, active days and key-feature uses move together); the
    label is drawn from :func:`churn_logit` of the observed features.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for date in pd.to_datetime(list(as_of_dates)):
        n = n_accounts
        health = rng.normal(size=n)
        plan = rng.choice(CATEGORIES["plan"], n, p=[0.35, 0.4, 0.15, 0.1])
        seats = rng.integers(1, 40, n).astype(float)
        discount = rng.choice([0.0, 0.1, 0.2, 0.3], n, p=[0.6, 0.2, 0.15, 0.05])
        tenure = rng.gamma(2.0, 250.0, n).round() + 30
        usage_rate = np.exp(2.8 + 0.7 * health) * np.sqrt(seats / 5)
        logins = rng.poisson(usage_rate)
        previous = rng.poisson(usage_rate * np.exp(0.2 * rng.normal(size=n)))
        active_days = np.minimum(logins, rng.binomial(30, expit(0.2 + health)))
        days_since_login = np.where(
            logins > 0,
            rng.geometric(np.clip(active_days / 30, 0.05, 1.0)) - 1,
            30 + rng.exponential(20.0, n).round(),
        )
        tickets = rng.poisson(np.exp(-0.8 - 0.4 * health))
        tickets_open = rng.binomial(tickets, 0.4)
        billing = rng.choice(CATEGORIES["billing_cycle"], n, p=[0.7, 0.3])
        nps = np.clip(np.round(7 + 1.5 * health + rng.normal(0, 1.5, n)), 0, 10)
        nps[rng.random(n) < 0.3] = np.nan
        frame = pd.DataFrame(
            {
                "account_id": [f"A{i:05d}" for i in range(n)],
                "as_of_date": date,
                "tenure_days": tenure,
                "mrr": seats * pd.Series(plan).map(_PRICE).to_numpy() * (1 - discount),
                "seats": seats,
                "discount_pct": discount,
                "days_since_plan_change": np.floor(tenure * rng.random(n)),
                "logins_30d": logins.astype(float),
                "logins_trend_30d": (logins + 1) / (previous + 1) - 1,
                "active_days_30d": active_days.astype(float),
                "active_users_per_seat_30d": np.where(
                    logins > 0,
                    np.clip(expit(-0.2 + 0.7 * health) + rng.normal(0, 0.1, n), 0, 1),
                    0.0,
                ),
                "key_feature_uses_30d": rng.poisson(1.5 * logins).astype(float),
                "days_since_last_login": days_since_login.astype(float),
                "tickets_30d": tickets.astype(float),
                "tickets_open": tickets_open.astype(float),
                "tickets_open_over_5d": rng.binomial(tickets_open, 0.5).astype(float),
                "failed_payments_90d": rng.poisson(
                    np.where(billing == "monthly", 0.15, 0.05)
                ).astype(float),
                "last_nps": nps,
                "plan": plan,
                "billing_cycle": billing,
                "industry": rng.choice(CATEGORIES["industry"], n),
                "acquisition_channel": rng.choice(CATEGORIES["acquisition_channel"], n),
                "country": rng.choice(CATEGORIES["country"], n),
            }
        )
        frame = _with_other_features(frame, rng)
        churned = rng.random(n) < expit(churn_logit(frame).to_numpy())
        frame["label"] = churned.astype(float) if labelled else np.nan
        frame["is_labelled"] = labelled
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table["as_of_date"] = table["as_of_date"].astype("datetime64[ns]")
    return table


def _noise(unit: str, example: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Values of a plausible scale for a feature of this unit."""
    if unit == "count":
        values = rng.poisson(example + 1.0, n)
    elif unit == "flag":
        values = rng.binomial(1, 0.1, n)
    elif unit == "fraction":
        values = rng.random(n)
    elif unit == "days":
        values = rng.exponential(example + 10.0, n).round()
    elif unit == "score":
        values = rng.integers(1, 6, n)
    elif unit == "points":
        values = rng.integers(-3, 4, n)
    elif unit == "currency":
        values = rng.normal(0.0, 50.0, n).round()
    else:
        values = rng.normal(example, 0.3, n)
    return np.asarray(values, dtype=float)


def _with_other_features(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Fill the registry's remaining numeric features with plausible noise.

    They carry no churn signal (the label depends only on :func:`churn_logit`),
    so the model tests' directions are those of the features above.
    """
    n = len(frame)
    derived: dict[str, Any] = {
        "tenure_months": np.floor(frame["tenure_days"] / DAYS_PER_MONTH),
        "in_first_90_days": (frame["tenure_days"] < 90).astype(float),
    }
    for spec in FEATURES:
        if spec.kind != "numeric" or spec.name in frame or spec.name in derived:
            continue
        stem, _, window = spec.name.rpartition("_")
        monthly = f"{stem}_30d"
        if window.endswith("d") and window[:-1].isdigit() and monthly in frame:
            # Other windows of a 30-day count move with it, as in real usage.
            rate = frame[monthly].to_numpy() * int(window[:-1]) / 30
            values = rng.poisson(rate).astype(float)
        else:
            values = _noise(spec.unit, spec.example, n, rng)
        lower = -np.inf if spec.minimum is None else spec.minimum
        upper = np.inf if spec.maximum is None else spec.maximum
        values = np.clip(values, lower, upper)
        if spec.nullable:
            values[rng.random(n) < 0.2] = np.nan
        derived[spec.name] = values
    return frame.assign(**derived)


def make_model(**overrides: Any) -> ChurnEnsemble:
    """A small, unfitted ensemble with the project's feature lists."""
    params: dict[str, Any] = {
        "numeric_features": list(NUMERIC_FEATURES),
        "categorical_features": list(CATEGORICAL_FEATURES),
        "members": {
            "xgboost": dict(XGBOOST_PARAMS),
            "lightgbm": dict(LIGHTGBM_PARAMS),
            "logistic_regression": None,
        },
        "monotone_constraints": dict(MONOTONE_CONSTRAINTS),
        "n_calibration_periods": 2,
        "horizon_days": HORIZON_DAYS,
        "random_state": 0,
    }
    params.update(overrides)
    return ChurnEnsemble(**params)


def fit(
    model: ChurnEnsemble,
    table: pd.DataFrame,
    sample_weight: np.ndarray | None = None,
) -> ChurnEnsemble:
    """Fit ``model`` on a snapshot table the way the training node does.

    ``sample_weight``: the weights of a sampled table (see
    ``churn_pipeline.evaluation.snapshots``), or ``None``.

    BLAS runs single-threaded meanwhile: the ~20 small logistic fits behind the
    member weight and calibration run 5x slower with two OpenBLAS threads on a
    busy 2-vCPU machine (measured 2.3 s vs 0.4 s per fit), and gain nothing.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return model.fit(
            table,
            table["label"],
            periods=table["as_of_date"],
            sample_weight=sample_weight,
        )


@functools.cache
def _training_table() -> pd.DataFrame:
    return make_snapshots(FIT_DATES, N_ACCOUNTS, seed=0)


@functools.cache
def _holdout_table() -> pd.DataFrame:
    return make_snapshots(HOLDOUT_DATES, N_HOLDOUT_ACCOUNTS, seed=1)


def training_table() -> pd.DataFrame:
    """Eight labelled monthly snapshots of 400 accounts (a fresh copy)."""
    return _training_table().copy()


def holdout_table() -> pd.DataFrame:
    """Two later labelled snapshots of 2,000 accounts (a fresh copy)."""
    return _holdout_table().copy()


@functools.cache
def fitted_model() -> ChurnEnsemble:
    """The ensemble fitted on :func:`training_table`; shared, do not mutate."""
    return fit(make_model(), _training_table())


_EMPTY_DATABASE: list[Path] = []


def _remember_empty_database(database: Path) -> None:
    directory = Path(tempfile.mkdtemp(prefix="churn-mlflow-schema-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    shutil.copyfile(database, directory / "mlflow.db")
    _EMPTY_DATABASE.append(directory / "mlflow.db")


@contextlib.contextmanager
def mlflow_store(root: Path, experiment: str = "tests") -> Iterator[str]:
    """Point MLflow tracking and registry at a new sqlite store under ``root``.

    Artifacts go to ``root / "artifacts"``. The previous tracking and registry
    URIs (and the environment variables MLflow exports for them) are restored
    afterwards, so the project's own ``mlflow.db`` is never touched.

    Yields:
        The id of an experiment whose artifacts live under ``root``; pass it to
        ``mlflow.start_run`` (the store's default experiment would write to
        ``./mlruns``).
    """
    database = root / "mlflow.db"
    if _EMPTY_DATABASE:
        # Creating the schema runs ~3 s of migrations; an empty copy is the same.
        shutil.copyfile(_EMPTY_DATABASE[0], database)
    uri = f"sqlite:///{database}"
    previous_tracking = mlflow.get_tracking_uri()
    previous_registry = mlflow.get_registry_uri()
    saved_env = {
        k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    }
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        if not _EMPTY_DATABASE:
            MlflowClient().search_experiments()  # creates the schema
            _remember_empty_database(database)
        experiment_id = mlflow.create_experiment(
            experiment, artifact_location=(root / "artifacts").as_uri()
        )
        yield experiment_id
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(previous_tracking)
        # A registry URI equal to the tracking URI was (almost surely) derived
        # from it; leave it derived rather than pinning it.
        mlflow.set_registry_uri(
            None if previous_registry == previous_tracking else previous_registry
        )
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
