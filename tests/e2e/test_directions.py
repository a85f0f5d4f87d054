"""Domain directions on the served champion, over HTTP, on real accounts.

The trained project's scoring snapshot gives a few hundred real feature vectors;
each is sent complete (scored as sent, no store lookup), then again after one
consistent change (tests/models/directions.py): more use must never raise the
served probability, more failed payments or overdue tickets never lower it.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest
from tests.e2e.servers import running_server
from tests.models import directions

from churn_pipeline.features import feature_names

pytestmark = [pytest.mark.e2e, pytest.mark.serving]

N_ACCOUNTS = 300
TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def server(trained_project, tmp_path_factory) -> Iterator[str]:
    logs = tmp_path_factory.mktemp("bentoml_directions")
    home = tmp_path_factory.mktemp("bentoml_directions_home")
    with running_server(trained_project, logs / "server.log", home) as url:
        yield url


@pytest.fixture(scope="module")
def accounts(trained_project) -> pd.DataFrame:
    """Real accounts' complete feature vectors, as the daily job scores them."""
    scoring = pd.read_parquet(
        trained_project.path / "data/05_model_input/scoring_snapshots.parquet"
    )
    picked = scoring.sample(min(N_ACCOUNTS, len(scoring)), random_state=7)
    return picked[["account_id", *feature_names()]].reset_index(drop=True)


def _served(server: str, rows: pd.DataFrame) -> pd.Series:
    """The served churn probability of each complete vector, by account id."""
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    response = httpx.post(f"{server}/predict", json={"accounts": records}, timeout=300)
    assert response.status_code == 200, response.text[:2000]
    body = response.json()["predictions"]
    served = pd.DataFrame(body).set_index("account_id")["churn_probability"]
    assert served.index.tolist() == rows["account_id"].tolist()
    return served


@pytest.fixture(scope="module")
def base_probability(server: str, accounts: pd.DataFrame) -> pd.Series:
    return _served(server, accounts)


def test_the_sample_is_hundreds_of_consistent_accounts(accounts: pd.DataFrame):
    assert len(accounts) >= 200
    # The rules the changes keep hold on the data itself.
    assert directions.consistency_problems(accounts) == []


@pytest.mark.parametrize("change", list(directions.MORE_USE))
def test_more_use_never_raises_the_served_probability(
    server: str, accounts: pd.DataFrame, base_probability: pd.Series, change: str
):
    changed = directions.MORE_USE[change](accounts)
    assert directions.consistency_problems(changed) == []

    rise = _served(server, changed) - base_probability

    worst = rise.idxmax()
    assert rise.max() <= TOLERANCE, (
        f"{change}: the served probability of {worst} rose by {rise.max():.3g}"
    )


@pytest.mark.parametrize("change", list(directions.MORE_TROUBLE))
def test_more_trouble_never_lowers_the_served_probability(
    server: str, accounts: pd.DataFrame, base_probability: pd.Series, change: str
):
    changed = directions.MORE_TROUBLE[change](accounts)
    assert directions.consistency_problems(changed) == []

    rise = _served(server, changed) - base_probability

    worst = rise.idxmin()
    assert rise.min() >= -TOLERANCE, (
        f"{change}: the served probability of {worst} fell by {-rise.min():.3g}"
    )
    assert rise.mean() > 0, f"{change}: the served model ignores it"


def test_more_use_lowers_the_served_probability_on_average(
    server: str, accounts: pd.DataFrame, base_probability: pd.Series
):
    after = _served(server, directions.more_of_everything(accounts))

    assert np.mean(after) < np.mean(base_probability)
