"""Point-in-time churn features and the registry that describes them."""

from churn_pipeline.features.specs import (
    CATEGORICAL_FEATURES,
    FEATURES,
    FEATURES_BY_NAME,
    NUMERIC_FEATURES,
    FeatureSpec,
    available_features,
    feature_names,
    feature_specs,
    spec_of,
)

__all__ = [
    "CATEGORICAL_FEATURES",
    "FEATURES",
    "FEATURES_BY_NAME",
    "NUMERIC_FEATURES",
    "FeatureSpec",
    "available_features",
    "feature_names",
    "feature_specs",
    "spec_of",
]
