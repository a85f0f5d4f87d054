"""Shared fixtures: a tiny raw dataset, the parameters and a sqlite MLflow store."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pytest
import yaml

# Before any test module loads XGBoost: the package sets the OpenMP spin count.
import churn_pipeline  # noqa: F401

if TYPE_CHECKING:
    from churn_pipeline.scoring.policy import ScoringPolicy

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def validation_params() -> dict[str, Any]:
    path = PROJECT_ROOT / "conf/base/parameters_data_validation.yml"
    return yaml.safe_load(path.read_text())["data_validation"]


def _ts(value: str) -> pd.Timestamp:
    return pd.Timestamp(value)


@pytest.fixture
def raw_tables() -> dict[str, pd.DataFrame]:
    """Three accounts; A2 cancels on 2024-03-10; everything else is valid."""
    accounts = pd.DataFrame(
        {
            "account_id": ["A1", "A2", "A3"],
            "signup_date": pd.to_datetime(["2023-06-01", "2023-12-01", "2024-02-20"]),
            "plan": ["pro", "basic", "enterprise"],
            "seats": [10, 3, 50],
            "mrr": [500.0, 90.0, 5000.0],
            "billing_cycle": ["monthly", "monthly", "annual"],
            "industry": ["software", "retail", "finance"],
            "country": ["US", "DE", "GB"],
            "acquisition_channel": ["organic", "paid_search", "outbound"],
            "discount_pct": [0.0, 0.1, 0.2],
        }
    )
    events = pd.DataFrame(
        {
            "event_id": ["E1", "E2"],
            "account_id": ["A1", "A2"],
            "event_date": pd.to_datetime(["2024-02-01", "2024-03-10"]),
            "event_type": ["upgrade", "cancellation"],
            "plan": ["enterprise", "basic"],
            "seats": [12, 3],
            "mrr": [1200.0, 0.0],
            "churn_type": [None, "voluntary"],
            "reason": [None, "pricing"],
        }
    )
    usage_days = pd.to_datetime(
        ["2024-01-05", "2024-02-10", "2024-02-25", "2024-03-01", "2024-01-20"]
    )
    usage = pd.DataFrame(
        {
            "account_id": ["A1", "A1", "A1", "A1", "A2"],
            "usage_date": usage_days,
            "logins": [5, 7, 3, 4, 2],
            "active_users": [3, 4, 2, 2, 1],
            "uses_reports": [1, 2, 0, 1, 0],
            "uses_dashboards": [2, 0, 1, 1, 1],
            "uses_integrations": [0, 1, 0, 0, 0],
            "uses_automations": [0, 0, 3, 0, 0],
        }
    )
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2", "T3"],
            "account_id": ["A1", "A2", "A2"],
            "opened_at": pd.to_datetime(
                ["2024-02-20 10:00", "2024-02-01 09:00", "2024-02-27 15:00"]
            ),
            "closed_at": pd.to_datetime(["2024-02-21 12:00", None, "2024-03-05 08:00"]),
            "priority": ["low", "high", "urgent"],
            "satisfaction": [5.0, None, 2.0],
        }
    )
    invoices = pd.DataFrame(
        {
            "invoice_id": ["I1", "I2", "I3"],
            "account_id": ["A1", "A2", "A2"],
            "invoice_date": pd.to_datetime(["2024-02-01", "2024-01-01", "2024-02-01"]),
            "amount": [500.0, 90.0, 90.0],
            "status": ["paid", "failed", "failed"],
            "attempts": [1, 4, 3],
        }
    )
    nps = pd.DataFrame(
        {
            "response_id": ["N1", "N2", "N3"],
            "account_id": ["A1", "A1", "A2"],
            "response_date": pd.to_datetime(["2024-01-15", "2024-02-25", "2024-02-01"]),
            "score": [9, 6, 3],
        }
    )
    return {
        "accounts": accounts,
        "subscription_events": events,
        "usage": usage,
        "tickets": tickets,
        "invoices": invoices,
        "nps_responses": nps,
    }


# -------------------------------------------------------------- MLflow registry
# The model and MLflow are imported inside the fixtures: at the top they would
# add seconds to every test session, most of which never use them.
@pytest.fixture(scope="session")
def scoring_policy() -> ScoringPolicy:
    """The synthetic ensemble's scoring policy (frozen, so one serves all)."""
    from tests.models import synthetic  # noqa: PLC0415

    from churn_pipeline.scoring.policy import ScoringPolicy  # noqa: PLC0415

    return ScoringPolicy.from_params(synthetic.SCORING_PARAMS, synthetic.PROFIT_PARAMS)


@pytest.fixture(scope="session")
def decision_keys() -> frozenset[str]:
    """The keys of a promotion decision's JSON: what the run and model card hold."""
    return frozenset(
        {
            "model_name",
            "version",
            "promoted",
            "metric",
            "new_value",
            "champion_version",
            "champion_value",
            "reason",
        }
    )


@pytest.fixture(scope="module")
def mlflow_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the module's sqlite MLflow store (its database, artifacts)."""
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture(scope="module")
def experiment_id(mlflow_root: Path) -> Iterator[str]:
    """An experiment in a new store under ``mlflow_root``, MLflow pointed at it.

    The project's own ``mlflow.db`` is never touched: the tracking and registry
    URIs are restored after the module.
    """
    from tests.models import synthetic  # noqa: PLC0415

    with synthetic.mlflow_store(mlflow_root) as experiment:
        yield experiment


@pytest.fixture(scope="module")
def register_synthetic(
    experiment_id: str, scoring_policy: ScoringPolicy
) -> Callable[..., tuple[str, str]]:
    """Registers the synthetic ensemble in a new run: ``(version, run id)``.

    Call as ``register_synthetic(model_name, rows=5, metrics={...})``: ``rows``
    holdout rows make the input example, ``metrics`` are logged to the run.
    """
    import mlflow  # noqa: PLC0415
    from tests.models import synthetic  # noqa: PLC0415

    from churn_pipeline.model_registry.mlflow_store import (  # noqa: PLC0415
        log_and_register,
    )

    def register(
        model_name: str, *, rows: int = 5, metrics: Mapping[str, float] | None = None
    ) -> tuple[str, str]:
        with mlflow.start_run(experiment_id=experiment_id) as run:
            if metrics:
                mlflow.log_metrics(dict(metrics))
            version = log_and_register(
                synthetic.fitted_model(),
                synthetic.holdout_table().head(rows),
                scoring_policy,
                model_name=model_name,
            )
        return version, run.info.run_id

    return register
