"""The churn ensemble as an MLflow pyfunc: feature rows in, named probabilities out.

``mlflow.pyfunc.load_model("models:/churn-model@champion").predict(frame)`` (and
``mlflow models serve``) answer with one ``churn_probability`` column, the column
the logged signature declares, instead of scikit-learn's unnamed
``[p_retained, p_churn]`` array.

The model is logged the way MLflow 3 recommends ("models from code"): MLflow
keeps the small script :data:`MODEL_CODE` that builds a :class:`ChurnPyfunc`,
and the fitted ensemble as the artifact :data:`ENSEMBLE_ARTIFACT`, which
:meth:`ChurnPyfunc.load_context` reads back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature

from churn_pipeline.models import ChurnEnsemble

OUTPUT_COLUMN = "churn_probability"
ENSEMBLE_ARTIFACT = "ensemble"
MODEL_CODE = Path(__file__).with_name("pyfunc_model.py")


class ChurnPyfunc(mlflow.pyfunc.PythonModel):
    """Serves a fitted :class:`ChurnEnsemble` through MLflow's pyfunc interface.

    Attributes:
        model: The fitted ensemble (preprocessing included); ``None`` until
            MLflow calls :meth:`load_context`.
    """

    def __init__(self) -> None:
        self.model: ChurnEnsemble | None = None

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        """Unpickle the logged ensemble.

        Our own registry holds only models this project trained, so loading
        them is trusted (as ``mlflow_store.load_model`` says too).
        """
        path = Path(context.artifacts[ENSEMBLE_ARTIFACT])
        self.model = cloudpickle.loads(path.read_bytes())

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext | None,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Probability of churn within the horizon, one row per input row.

        Args:
            context: MLflow's model context (unused: the model is loaded).
            model_input: Feature rows; extra columns (e.g. ``account_id``) are
                ignored, as the ensemble selects its own features.
            params: Unused; MLflow passes inference parameters here.

        Returns:
            ``churn_probability`` (float64) on the input's index.

        Raises:
            RuntimeError: If called before MLflow loaded the ensemble.
        """
        if self.model is None:
            raise RuntimeError(
                "ChurnPyfunc.predict before load_context: load the model with "
                "mlflow.pyfunc.load_model"
            )
        return churn_frame(self.model, model_input)


def churn_frame(model: ChurnEnsemble, rows: pd.DataFrame) -> pd.DataFrame:
    """The pyfunc's answer for ``rows``: their churn probability, named."""
    features = rows[list(model.feature_names_in_)]
    probability = model.predict_proba(features)[:, 1].astype(np.float64)
    return pd.DataFrame({OUTPUT_COLUMN: probability}, index=rows.index)


def churn_signature(model: ChurnEnsemble, example: pd.DataFrame) -> ModelSignature:
    """The signature the pyfunc honours: the model's features in, the frame out."""
    features = example[list(model.feature_names_in_)]
    return infer_signature(features, churn_frame(model, features))


def save_ensemble(model: ChurnEnsemble, directory: Path) -> dict[str, str]:
    """Pickle ``model`` into ``directory``; return the ``artifacts`` to log.

    Args:
        model: The fitted ensemble.
        directory: A scratch directory that outlives the ``log_model`` call.

    Returns:
        ``{ENSEMBLE_ARTIFACT: path}``, as ``mlflow.pyfunc.log_model`` takes it.
    """
    path = directory / "ensemble.pkl"
    path.write_bytes(cloudpickle.dumps(model))
    return {ENSEMBLE_ARTIFACT: str(path)}
