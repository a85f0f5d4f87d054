"""Scores validated request accounts on the code path of batch scoring.

Through :func:`churn_pipeline.scoring.accounts.score_columns`, so the service
and the scored list give an account the same answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel

from churn_pipeline.models import ChurnEnsemble, ChurnExplainer
from churn_pipeline.scoring.accounts import score_columns
from churn_pipeline.scoring.policy import ScoringPolicy
from churn_pipeline.serving.schema import AccountPrediction


def predict_accounts(
    model: ChurnEnsemble,
    policy: ScoringPolicy,
    accounts: list[BaseModel],
    *,
    explainer: ChurnExplainer | None = None,
) -> list[AccountPrediction]:
    """Score validated accounts.

    Args:
        model: The fitted ensemble.
        policy: The policy registered with the model.
        accounts: Validated ``AccountFeatures``.
        explainer: The model's explainer, built once per loaded model
            (``ServedModel.explainer``); ``None`` builds one for this call.

    Returns:
        One prediction per account, in request order.
    """
    columns = account_columns(model, accounts)
    scores = score_columns(model, columns, policy, explainer=explainer)
    fields = [name for name in AccountPrediction.model_fields if name in scores]
    # tolist(): plain Python values, which pydantic validates strictly.
    values = {name: _plain_list(scores[name]) for name in fields}
    return [
        AccountPrediction.model_validate({name: values[name][i] for name in fields})
        for i in range(len(accounts))
    ]


def account_columns(
    model: ChurnEnsemble, accounts: list[BaseModel]
) -> dict[str, np.ndarray]:
    """Validated accounts as one array per field, what scoring reads.

    Straight from the validated objects: building a DataFrame would cost more
    than scoring one account.
    """
    numeric = set(model.numeric_features_)
    return {
        name: np.asarray(
            [getattr(account, name) for account in accounts],
            dtype=float if name in numeric else object,
        )
        for name in type(accounts[0]).model_fields
    }


def _plain_list(values: Any) -> list[Any]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)
