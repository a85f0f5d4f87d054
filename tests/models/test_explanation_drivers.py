"""Driver contributions: a feature explanation summed per named driver."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.models import synthetic

from churn_pipeline.features import feature_names
from churn_pipeline.features.specs import DRIVERS, driver_features
from churn_pipeline.models import ChurnEnsemble, Explanation, driver_groups


@pytest.fixture(scope="module")
def model() -> ChurnEnsemble:
    return synthetic.fitted_model()


@pytest.fixture(scope="module")
def explanation(model: ChurnEnsemble) -> tuple[Explanation, pd.DataFrame]:
    accounts = synthetic.holdout_table().iloc[500:800]
    return model.explain(accounts), accounts


def test_driver_contributions_still_add_up_to_the_score(model, explanation):
    features_explained, accounts = explanation

    by_driver = features_explained.by_driver()

    np.testing.assert_allclose(
        by_driver.base_value + by_driver.contributions.sum(axis=1),
        model.decision_function(accounts),
        rtol=0,
        atol=1e-9,
    )
    assert by_driver.base_value == features_explained.base_value
    assert by_driver.calibration_slope == features_explained.calibration_slope
    assert by_driver.contributions.index.equals(accounts.index)


def test_each_driver_is_the_sum_of_its_features(explanation):
    features_explained, _ = explanation
    contributions = features_explained.contributions

    by_driver = features_explained.by_driver().contributions

    # Every registry driver, in registry order: the model has every feature.
    assert list(by_driver.columns) == [d.name for d in DRIVERS]
    for driver in DRIVERS:
        members = list(driver_features(driver.name))
        np.testing.assert_allclose(
            by_driver[driver.name], contributions[members].sum(axis=1), atol=1e-12
        )


def test_only_the_drivers_of_the_columns_present_and_unregistered_ones_last():
    contributions = pd.DataFrame(
        {
            "Contract": [0.5, -0.1],
            "failed_payments_90d": [0.2, 0.0],
            "logins_7d": [0.1, 0.3],
            "days_since_last_login": [-0.4, 0.2],
        }
    )

    by_driver = Explanation(1.0, contributions, 1.0).by_driver().contributions

    expected = pd.DataFrame(
        {"logins": [-0.3, 0.5], "payments": [0.2, 0.0], "Contract": [0.5, -0.1]}
    )
    pd.testing.assert_frame_equal(by_driver, expected)


def test_the_grouping_is_built_once_per_feature_list_and_read_only():
    columns = tuple(feature_names())

    groups = driver_groups(columns)

    assert driver_groups(tuple(feature_names())) is groups
    assert not groups.membership.flags.writeable
    assert groups.membership.sum(axis=1).tolist() == [1.0] * len(columns)
    with pytest.raises(ValueError, match="read-only"):
        groups.membership[0, 0] = 2.0
