"""Per-row work over many rows, a batch at a time, so memory follows the batch.

Predicting and explaining copy their input into design matrices (one per
member) and SHAP arrays; over a million accounts' test or scoring rows at once
those copies, not the rows, set the run's peak memory. Every such step
depends on each row alone, so batches give the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from churn_pipeline.batching import row_batches
from churn_pipeline.models.baseline import BASELINE
from churn_pipeline.models.ensemble import ChurnEnsemble

# Rows predicted or explained at a time (a few hundred MB of design matrices).
BATCH_ROWS = 100_000
# The ensemble's own score in scores_by_model (as in the evaluation tables).
ENSEMBLE = "ensemble"


def scores_by_model(
    model: ChurnEnsemble,
    rows: pd.DataFrame,
    baseline: Callable[[pd.DataFrame], np.ndarray] | None = None,
    *,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, np.ndarray]:
    """Churn probability of the ensemble, each member and the baseline, per row.

    Args:
        model: The fitted ensemble.
        rows: Feature rows.
        baseline: The baseline's ``predict_proba`` (left out when ``None``).
        batch_rows: Rows scored at a time.

    Returns:
        ``ensemble``, each member's name and ``baseline_xgboost`` -> one
        probability per row, in ``rows``' order.
    """
    parts: list[Mapping[str, np.ndarray]] = []
    for batch in row_batches(len(rows), batch_rows, progress="Scored by every model"):
        chunk = rows.iloc[batch]
        scores = {
            ENSEMBLE: model.predict_proba(chunk)[:, 1],
            **model.member_probabilities(chunk),
        }
        if baseline is not None:
            scores[BASELINE] = baseline(chunk)[:, 1]
        parts.append(scores)
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
