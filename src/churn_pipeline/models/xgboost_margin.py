"""Where ensembles pickled before ``TreePaths`` find their XGBoost routing class.

Those pickles (registered MLflow models, BentoML imports, ``churn_model.pkl``)
hold a ``LeafValues`` object under ``_xgboost_leaves_``. Unpickling needs the
class at this path; ``ChurnEnsemble.__setstate__`` then drops the object and
routes rows with :class:`churn_pipeline.models.tree_shap.TreePaths` instead.
"""

from __future__ import annotations


class LeafValues:
    """Unpickling target of the old routing arrays; never built or used."""
