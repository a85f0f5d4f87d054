"""churn_pipeline: point-in-time SaaS churn prediction with profit-aware evaluation."""

import os

# XGBoost's, LightGBM's and scikit-learn's OpenMP threads spin a long while
# waiting for each other; when another process holds a core, the spinning thread
# starves the working one and model fits slow down many times over. A shorter spin
# costs nothing measurable on a quiet machine (docs/benchmarks.md, "OpenMP on a
# busy machine"). libgomp reads it once, when the first of them loads, so it is set
# here, before any of them; a value already in the environment is kept.
os.environ.setdefault("GOMP_SPINCOUNT", "10000")

__version__ = "0.1.0"
