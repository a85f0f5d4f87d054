"""The model code MLflow logs with every churn model ("models from code").

MLflow runs this file to build the pyfunc when it loads the model; the fitted
ensemble comes from the logged artifact (``ChurnPyfunc.load_context``).
"""

import mlflow

from churn_pipeline.model_registry.pyfunc import ChurnPyfunc

mlflow.models.set_model(ChurnPyfunc())
