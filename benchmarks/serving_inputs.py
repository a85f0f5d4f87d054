"""The serving benchmarks' inputs: the champion, its accounts and request bodies.

Shared by :mod:`benchmarks.bench_serving` and :mod:`benchmarks.ab_serving`: the
champion from MLflow, one account's features and score from the data a
``make run`` left (``--data``), and the body each server gets.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
PROJECT = ROOT.parent
DATA = PROJECT / "data"
FEATURES = Path("04_feature") / "current_features.parquet"
SCORED = Path("07_model_output") / "daily_scores.parquet"
FEATURE_REPO = Path("06_models") / "feature_repo"
DEFAULT_MODEL_URI = "models:/churn-model@champion"
DEFAULT_TRACKING_URI = f"sqlite:///{PROJECT / 'mlflow.db'}"
BATCH = 100


@dataclass(frozen=True)
class Scenario:
    """Accounts per request, concurrent clients, and ids alone or full vectors."""

    name: str
    accounts: int
    concurrency: int
    by_id: bool = False


@dataclass(frozen=True)
class Inputs:
    """The served model, the benchmarked account, the batch and the daily score."""

    served: Any
    columns: list[str]
    account: dict[str, Any]
    batch: list[dict[str, Any]]
    scored: dict[str, Any]


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--model-uri``, ``--data`` and ``--account``: :func:`load_inputs` reads."""
    add = parser.add_argument
    add("--model-uri", default=os.environ.get("CHURN_MODEL_URI", DEFAULT_MODEL_URI))
    add("--data", default=str(DATA), help="data/ of the project that ran")
    add("--account", help="account of single-account requests (default: top scored)")


def load_inputs(model_uri: str, account_id: str | None, data: Path = DATA) -> Inputs:
    """The champion, the account's features and its score in the daily list.

    Raises:
        SystemExit: If the model, the features or the scored list is missing
            (``make run`` makes all three) or does not hold the account.
    """
    import pandas as pd  # noqa: PLC0415

    from churn_pipeline.model_registry.mlflow_store import load_served_model  # noqa: PLC0415

    for path in (data / FEATURES, data / SCORED):
        if not path.exists():
            raise SystemExit(f"No {path}: run `make run` first.")
    try:
        served = load_served_model(model_uri)
    except Exception as error:  # MLflow's errors differ by store
        raise SystemExit(f"No model {model_uri} ({error}): run `make run`.") from error
    columns = list(served.model.feature_names_in_)
    records = records_from_frame(pd.read_parquet(data / FEATURES), columns)
    scored = pd.read_parquet(data / SCORED).set_index("account_id")
    account_id = account_id or str(scored.index[0])
    account = [r for r in records if r["account_id"] == account_id]
    if not account or account_id not in scored.index:
        raise SystemExit(f"{account_id} is not in the features and the scored list")
    row = scored.loc[account_id]
    return Inputs(
        served=served,
        columns=columns,
        account=account[0],
        batch=records[:BATCH],
        scored={
            "probability": float(row["churn_probability"]),
            "model_version": str(row["model_version"]),
        },
    )


def records_from_frame(frame: Any, features: Sequence[str]) -> list[dict[str, Any]]:
    """One JSON-ready record per row: ``account_id`` and ``features``, NaN as None."""

    def plain(value: Any) -> Any:
        value = value.item() if hasattr(value, "item") else value  # numpy scalars
        return None if isinstance(value, float) and math.isnan(value) else value

    records = frame[["account_id", *features]].to_dict(orient="records")
    return [{k: plain(v) for k, v in record.items()} for record in records]


def request_body(system: str, scenario: Scenario, inputs: Inputs) -> bytes:
    """The encoded body ``system`` gets in ``scenario``.

    Raises:
        ValueError: For a by-id scenario on MLflow's server.
    """
    accounts = [inputs.account] if scenario.accounts == 1 else inputs.batch
    if scenario.by_id:
        if system == "mlflow":
            raise ValueError("MLflow's server takes full vectors only")
        accounts = [{"account_id": a["account_id"]} for a in accounts]
    if system == "mlflow":
        rows = [[a.get(c) for c in inputs.columns] for a in accounts]
        body: Any = {"dataframe_split": {"columns": inputs.columns, "data": rows}}
    else:
        body = {"accounts": accounts}
    return json.dumps(body, allow_nan=False, separators=(",", ":")).encode()


def churn_probability(system: str, answer: Mapping[str, Any]) -> float:
    """The first account's churn probability in a server's answer."""
    first = answer["predictions"][0]
    # The service, and MLflow serving a model registered since the pyfunc named
    # its output: {"churn_probability": p} per row.
    if isinstance(first, Mapping):
        return float(first["churn_probability"])
    # MLflow serving an older version (predict_proba): [p_retained, p_churn].
    return float(first[1] if isinstance(first, list) else first)


def scenario_result(run: Mapping[str, Any], scenario: Scenario) -> dict[str, Any]:
    """A run's summary with its accounts/s and what the scenario sent."""
    rate = run["requests_per_s"]
    return {
        **run,
        "accounts_per_s": None if rate is None else round(rate * scenario.accounts, 1),
        "concurrency": scenario.concurrency,
        "accounts_per_request": scenario.accounts,
        "body": "account ids alone" if scenario.by_id else "full feature vectors",
    }
