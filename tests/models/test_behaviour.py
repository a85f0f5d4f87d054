"""Behaviour of the fitted model: domain directions and invariances.

Each direction test changes one feature of many real-looking rows, all else
equal, and checks the churn probability never drops (1e-9 absorbs float noise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from tests.models import synthetic

from churn_pipeline.evaluation.time_split import labels_known_by
from churn_pipeline.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.models.preprocessing import make_preprocessor

N_ROWS = 1000
TOLERANCE = 1e-9
# Batch shape can change the order of floating-point sums inside BLAS (seen:
# 3e-17 between one row and the same row in a batch), nothing more.
FLOAT_NOISE = 1e-12


@pytest.fixture
def rows(holdout: pd.DataFrame) -> pd.DataFrame:
    return holdout.sample(N_ROWS, random_state=3)


def _churn(model: ChurnEnsemble, rows: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(rows)[:, 1]


@pytest.mark.parametrize(
    ("feature", "step"),
    [
        ("logins_30d", -1.0),
        ("logins_30d", -5.0),
        ("logins_30d", -50.0),
        ("active_days_30d", -3.0),
        ("days_since_last_login", 1.0),
        ("days_since_last_login", 10.0),
        ("days_since_last_login", 45.0),
        ("tickets_open_over_5d", 1.0),
        ("tickets_open_over_5d", 3.0),
        ("failed_payments_90d", 1.0),
        ("failed_payments_90d", 2.0),
    ],
)
def test_risk_moves_in_the_domain_direction(
    fitted_model: ChurnEnsemble, rows: pd.DataFrame, feature: str, step: float
) -> None:
    changed = rows.copy()
    changed[feature] = (changed[feature] + step).clip(lower=0.0)
    moved = (changed[feature] != rows[feature]).to_numpy()

    before = _churn(fitted_model, rows)
    after = _churn(fitted_model, changed)

    # The sign of `step` says which way risk should go: fewer logins or active
    # days, more inactivity, stale tickets or failed payments: more risk.
    worst = (after - before).min()
    assert worst >= -TOLERANCE, f"{feature} {step:+}: probability fell by {-worst:.3g}"
    assert np.array_equal(after[~moved], before[~moved])
    # The model does use the feature, so the test is not vacuous.
    assert after[moved].mean() > before[moved].mean()


def test_account_id_does_not_change_the_probability(
    fitted_model: ChurnEnsemble, rows: pd.DataFrame
) -> None:
    renamed = rows.assign(account_id=[f"Z{i}" for i in range(len(rows))][::-1])

    np.testing.assert_array_equal(
        _churn(fitted_model, renamed), _churn(fitted_model, rows)
    )


def test_row_order_does_not_change_a_rows_probability(
    fitted_model: ChurnEnsemble, rows: pd.DataFrame
) -> None:
    order = np.random.default_rng(0).permutation(len(rows))
    shuffled = rows.iloc[order]

    probability = pd.Series(_churn(fitted_model, rows), index=rows.index)
    shuffled_probability = pd.Series(
        _churn(fitted_model, shuffled), index=shuffled.index
    )

    pd.testing.assert_series_equal(
        shuffled_probability.loc[rows.index], probability, rtol=FLOAT_NOISE, atol=0
    )


def test_row_order_does_not_change_a_rows_explanation(
    fitted_model: ChurnEnsemble, rows: pd.DataFrame
) -> None:
    subset = rows.head(200)
    shuffled = subset.iloc[np.random.default_rng(1).permutation(len(subset))]

    original = fitted_model.explain(subset).contributions
    reordered = fitted_model.explain(shuffled).contributions

    pd.testing.assert_frame_equal(
        reordered.loc[subset.index], original, rtol=FLOAT_NOISE, atol=FLOAT_NOISE
    )


def test_scoring_one_row_equals_scoring_it_in_a_batch(
    fitted_model: ChurnEnsemble, rows: pd.DataFrame
) -> None:
    batch = _churn(fitted_model, rows)

    single = [_churn(fitted_model, rows.iloc[[i]])[0] for i in range(0, N_ROWS, 97)]

    np.testing.assert_allclose(single, batch[::97], rtol=FLOAT_NOISE, atol=0)


@pytest.fixture(scope="module")
def small_business() -> pd.DataFrame:
    """A hundred accounts a month: few enough rows for collinearity to bite."""
    return synthetic.make_snapshots(synthetic.FIT_DATES, 100, seed=6)


def test_directions_hold_when_collinear_features_flip_a_linear_sign(
    small_business: pd.DataFrame, rows: pd.DataFrame
) -> None:
    """Logins, active days and key-feature uses move together; on this sample an
    unconstrained logistic regression gives logins_30d a positive coefficient
    (fewer logins, less risk). The ensemble must still respect the prior."""
    member_rows = labels_known_by(
        small_business["as_of_date"],
        synthetic.CALIBRATION_START,
        synthetic.HORIZON_DAYS,
    )
    X = small_business[member_rows]
    plain = make_pipeline(
        make_preprocessor("linear", NUMERIC_FEATURES, CATEGORICAL_FEATURES),
        LogisticRegression(C=1.0, max_iter=2000),
    ).fit(X, X["label"])
    columns = list(plain[0].get_feature_names_out())
    assert plain[-1].coef_[0, columns.index("logins_30d")] > 0  # the trap is real

    model = synthetic.fit(synthetic.make_model(), small_business)

    fewer_logins = rows.assign(logins_30d=(rows["logins_30d"] - 5).clip(lower=0))
    change = _churn(model, fewer_logins) - _churn(model, rows)
    assert change.min() >= -TOLERANCE


def _joint_step(rows: pd.DataFrame, steps: dict[str, float]) -> pd.DataFrame:
    return rows.assign(**{name: rows[name] + step for name, step in steps.items()})


@pytest.mark.parametrize(
    ("what", "steps"),
    [
        # A new failed payment counts in both windows, and is retried.
        (
            "one more failed payment",
            {"failed_payments_30d": 1, "failed_payments_90d": 1},
        ),
        (
            "a failed payment retried twice",
            {
                "failed_payments_30d": 1,
                "failed_payments_90d": 1,
                "payment_retries_90d": 2,
            },
        ),
        # An overdue ticket is also an open ticket, and may be the oldest.
        ("one more overdue ticket", {"tickets_open": 1, "tickets_open_over_5d": 1}),
        (
            "overdue tickets left open 10 days longer",
            {"oldest_open_ticket_days": 10},
        ),
    ],
)
def test_more_payment_or_ticket_trouble_never_lowers_risk(
    fitted_model: ChurnEnsemble, rows: pd.DataFrame, what: str, steps: dict
) -> None:
    before = _churn(fitted_model, rows)
    after = _churn(fitted_model, _joint_step(rows, steps))

    worst = (after - before).min()
    assert worst >= -TOLERANCE, f"{what}: probability fell by {-worst:.3g}"
    assert after.mean() > before.mean(), f"{what}: the model ignores it"


@pytest.mark.parametrize(
    "respell",
    [
        str.lower,
        lambda code: f" {code} ",
        lambda code: code.capitalize(),
        lambda code: "".join(chr(ord(c) + 0xFEE0) for c in code),  # full width
    ],
    ids=["lower", "padded", "capitalised", "full-width"],
)
def test_country_spelling_does_not_change_the_probability(
    fitted_model: ChurnEnsemble, rows: pd.DataFrame, respell
) -> None:
    respelled = rows.assign(country=rows["country"].map(respell))
    assert (respelled["country"] != rows["country"]).all()

    np.testing.assert_array_equal(
        _churn(fitted_model, respelled), _churn(fitted_model, rows)
    )
