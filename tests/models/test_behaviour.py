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
from tests.models import directions, synthetic

from churn_pipeline.evaluation.time_split import labels_known_by
from churn_pipeline.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.models.monotone import resolve_constraints
from churn_pipeline.models.preprocessing import make_preprocessor

N_ROWS = 1000
# The shipped priors, resolved against the registry's features.
CONSTRAINED = resolve_constraints(synthetic.MONOTONE_CONSTRAINTS, NUMERIC_FEATURES)
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


def _step_sizes(rows: pd.DataFrame, feature: str) -> list[float]:
    """A small, a typical and a large step for this feature's scale."""
    spread = float(np.nanstd(rows[feature].to_numpy())) or 1.0
    return [0.1 * spread, spread, 5 * spread]


@pytest.mark.parametrize(("feature", "sign"), sorted(CONSTRAINED.items()))
def test_each_constrained_feature_moves_risk_its_way_only(
    fitted_model: ChurnEnsemble, rows: pd.DataFrame, feature: str, sign: int
) -> None:
    """Every constrained feature, alone, up and down by several step sizes."""
    before = _churn(fitted_model, rows)
    for step in _step_sizes(rows, feature):
        for direction in (1, -1):
            changed = rows.assign(**{feature: rows[feature] + direction * step})
            # Risk moves with sign * direction, or not at all.
            moved = sign * direction * (_churn(fitted_model, changed) - before)
            assert moved.min() >= -TOLERANCE, (
                f"{feature} {direction * step:+.3g}: probability moved against "
                f"the constraint by {-moved.min():.3g}"
            )


@pytest.mark.parametrize("change", list(directions.MORE_USE))
def test_more_use_across_windows_and_ratios_never_raises_risk(
    fitted_model: ChurnEnsemble, rows: pd.DataFrame, change: str
) -> None:
    before = _churn(fitted_model, rows)
    after = _churn(fitted_model, directions.MORE_USE[change](rows))

    worst = (after - before).max()
    assert worst <= TOLERANCE, f"{change}: probability rose by {worst:.3g}"


@pytest.mark.parametrize("change", list(directions.MORE_TROUBLE))
def test_more_payment_or_ticket_trouble_consistently_never_lowers_risk(
    fitted_model: ChurnEnsemble, rows: pd.DataFrame, change: str
) -> None:
    before = _churn(fitted_model, rows)
    after = _churn(fitted_model, directions.MORE_TROUBLE[change](rows))

    worst = (after - before).min()
    assert worst >= -TOLERANCE, f"{change}: probability fell by {-worst:.3g}"
    assert after.mean() > before.mean(), f"{change}: the model ignores it"


def test_more_use_lowers_risk_on_average(
    fitted_model: ChurnEnsemble, rows: pd.DataFrame
) -> None:
    """Not vacuous: the model does use the engagement signal."""
    before = _churn(fitted_model, rows)
    after = _churn(fitted_model, directions.more_of_everything(rows))

    assert after.mean() < before.mean()


def test_changes_touch_only_constrained_features(rows: pd.DataFrame) -> None:
    """What the guarantee covers: a change moving a free feature could go either
    way, so every feature a change touches must be constrained its way."""
    for name, change in {**directions.MORE_USE, **directions.MORE_TROUBLE}.items():
        changed = change(rows)
        moved = [
            feature
            for feature in NUMERIC_FEATURES
            if not changed[feature].equals(rows[feature])
        ]
        assert moved, name
        free = [feature for feature in moved if not CONSTRAINED.get(feature)]
        assert not free, f"{name} moves unconstrained features {free}"


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
