"""The calibrated ensemble: fitting rules, errors, calibration and exact SHAP."""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from tests.models import synthetic

from churn_pipeline.evaluation.time_split import labels_known_by
from churn_pipeline.features import FEATURES, NUMERIC_FEATURES
from churn_pipeline.models import ChurnEnsemble, ChurnExplainer, Explanation
from churn_pipeline.models.linear import SignConstrainedLogisticRegression

FEATURE_NAMES = [spec.name for spec in FEATURES]
# The bar the explanations are held to: base value + contributions equals the
# uncalibrated score to 1e-9 on every row (a wrong base value or a dropped
# feature is off by 1e-2 or more). Tabulated tree SHAP and the trees' margins
# (models/tree_paths.py, models/tree_shap.py) are float64 end to end.
SHAP_ATOL = 1e-9


def _small_table(seed: int = 5) -> pd.DataFrame:
    return synthetic.make_snapshots(synthetic.FIT_DATES, 150, seed=seed)


# ---------------------------------------------------------------- predictions
def test_predict_proba_shapes_and_range(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    proba = fitted_model.predict_proba(holdout)

    assert proba.shape == (len(holdout), 2)
    assert np.all((proba >= 0.0) & (proba <= 1.0))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert fitted_model.decision_function(holdout).shape == (len(holdout),)
    assert set(np.unique(fitted_model.predict(holdout))) <= {0, 1}
    np.testing.assert_array_equal(fitted_model.classes_, [0, 1])


def test_predict_proba_is_platt_scaled_decision_function(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    score = fitted_model.decision_function(holdout)
    expected = expit(
        fitted_model.calibration_slope_ * score + fitted_model.calibration_intercept_
    )

    np.testing.assert_array_equal(fitted_model.predict_proba(holdout)[:, 1], expected)


def test_member_probabilities_cover_every_member(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    members = fitted_model.member_probabilities(holdout)

    assert set(members) == {"xgboost", "lightgbm", "logistic_regression"}
    for probability in members.values():
        assert probability.shape == (len(holdout),)
        assert np.all((probability >= 0.0) & (probability <= 1.0))


def test_model_has_real_signal_on_later_data(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    probability = fitted_model.predict_proba(holdout)[:, 1]

    # The synthetic label depends on the features; a model that learnt nothing
    # (or leaked nothing useful) would sit at 0.5.
    assert roc_auc_score(holdout["label"], probability) > 0.65


def test_same_random_state_gives_identical_probabilities() -> None:
    table = _small_table()
    params = {
        "members": {
            "xgboost": {"n_estimators": 30, "subsample": 0.7, "n_jobs": 1},
            "lightgbm": {
                "n_estimators": 30,
                "subsample": 0.7,
                "subsample_freq": 1,
                "n_jobs": 1,
            },
            "logistic_regression": None,
        }
    }

    first = synthetic.fit(synthetic.make_model(random_state=7, **params), table)
    second = synthetic.fit(synthetic.make_model(random_state=7, **params), table)
    other = synthetic.fit(synthetic.make_model(random_state=8, **params), table)

    np.testing.assert_array_equal(
        first.predict_proba(table), second.predict_proba(table)
    )
    assert first.weights_ == second.weights_
    first_members = first.member_probabilities(table)
    second_members = second.member_probabilities(table)
    for name, probability in first_members.items():
        np.testing.assert_array_equal(probability, second_members[name])
    # The seed reaches the trees' row subsampling, so the check is not vacuous.
    for name in ("xgboost", "lightgbm"):
        assert not np.array_equal(
            first_members[name], other.member_probabilities(table)[name]
        )


def test_clone_keeps_params_and_drops_fitted_state(
    fitted_model: ChurnEnsemble,
) -> None:
    copy = clone(fitted_model)

    assert copy.get_params() == fitted_model.get_params()
    assert not hasattr(copy, "members_")


def test_extra_columns_and_column_order_do_not_matter(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    shuffled = holdout[list(reversed(holdout.columns))].assign(unused=1.0)

    np.testing.assert_array_equal(
        fitted_model.predict_proba(shuffled), fitted_model.predict_proba(holdout)
    )


# --------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "dropped", [["logins_30d"], ["plan", "tenure_days"], ["last_nps"]]
)
def test_fit_without_feature_columns_names_them(
    train: pd.DataFrame, dropped: list[str]
) -> None:
    with pytest.raises(ValueError, match="lacks feature columns") as error:
        synthetic.fit(synthetic.make_model(), train.drop(columns=dropped))

    for column in dropped:
        assert repr(column) in str(error.value)


def test_predict_without_feature_column_names_it(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    with pytest.raises(ValueError, match=r"lacks feature columns: \['country'\]"):
        fitted_model.predict_proba(holdout.drop(columns="country"))


@pytest.mark.parametrize(
    ("n_dates", "n_calibration_periods"), [(2, 2), (1, 1), (3, 3), (3, 5)]
)
def test_too_few_periods(n_dates: int, n_calibration_periods: int) -> None:
    table = synthetic.make_snapshots(synthetic.FIT_DATES[:n_dates], 50, seed=2)
    model = synthetic.make_model(n_calibration_periods=n_calibration_periods)

    with pytest.raises(ValueError, match="Need more than n_calibration_periods"):
        synthetic.fit(model, table)


def test_zero_calibration_periods_rejected(train: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="n_calibration_periods must be >= 1"):
        synthetic.fit(synthetic.make_model(n_calibration_periods=0), train)


@pytest.mark.parametrize("feature", ["logins_1d", "plan", "account_id", "login_*"])
def test_unknown_monotone_constraint_feature_lists_allowed(
    train: pd.DataFrame, feature: str
) -> None:
    model = synthetic.make_model(monotone_constraints={feature: 1})

    with pytest.raises(ValueError, match="match no numeric feature") as error:
        synthetic.fit(model, train)

    message = str(error.value)
    assert repr(feature) in message
    assert "allowed:" in message
    assert all(repr(name) in message for name in NUMERIC_FEATURES)


@pytest.mark.parametrize("value", [2, -2, 0.5, "up"])
def test_bad_monotone_constraint_value(train: pd.DataFrame, value: object) -> None:
    model = synthetic.make_model(monotone_constraints={"logins_30d": value})

    with pytest.raises(ValueError, match="must be -1, 0 or 1"):
        synthetic.fit(model, train)


@pytest.mark.parametrize(
    ("dates", "slice_name"),
    [
        (synthetic.FIT_DATES[:5], "member"),
        (synthetic.FIT_DATES[-2:], "calibration"),
    ],
)
def test_single_class_slice_rejected(
    train: pd.DataFrame, dates: pd.DatetimeIndex, slice_name: str
) -> None:
    train.loc[train["as_of_date"].isin(dates), "label"] = 0.0

    with pytest.raises(ValueError, match=f"The {slice_name} slice has a single class"):
        synthetic.fit(synthetic.make_model(), train)


# ------------------------------------------------------------ fitting in time
def test_member_weights_sum_to_one(fitted_model: ChurnEnsemble) -> None:
    weights = fitted_model.weights_

    assert set(weights) == {"xgboost", "lightgbm", "logistic_regression"}
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-12)
    assert all(0.0 <= weight <= 1.0 for weight in weights.values())


def test_blend_maximises_calibration_likelihood_over_the_simplex(
    fitted_model: ChurnEnsemble, train: pd.DataFrame
) -> None:
    calibration = train[
        train["as_of_date"].isin(pd.to_datetime(fitted_model.periods_["calibration"]))
    ]
    y = calibration["label"].to_numpy()

    def loss(model: ChurnEnsemble) -> float:
        return log_loss(y, model.predict_proba(calibration)[:, 1])

    fitted = loss(fitted_model)
    # Any other weighting, each Platt-refitted, does no better on this slice.
    rows = calibration[fitted_model.feature_names_in_]
    logits = fitted_model._logits(fitted_model.member_designs(rows))
    rng = np.random.default_rng(0)
    for weights in [np.eye(3)[i] for i in range(3)] + list(rng.dirichlet([1] * 3, 5)):
        score = sum(w * logits[n] for w, n in zip(weights, logits, strict=True))
        platt = LogisticRegression(C=1e9).fit(score.reshape(-1, 1), y)
        other = log_loss(y, platt.predict_proba(score.reshape(-1, 1))[:, 1])
        assert fitted <= other + 1e-6


@pytest.mark.parametrize(
    ("members", "match"),
    [({"catboost": {}}, r"unknown \['catboost'\]"), ({}, "at least one of")],
)
def test_unknown_or_no_members_list_the_allowed(
    train: pd.DataFrame, members: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        synthetic.fit(synthetic.make_model(members=members), train)


def test_class_weight_must_be_allowed(train: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"class_weight must be one of \[None"):
        synthetic.fit(synthetic.make_model(class_weight="auto"), train)


def test_a_single_member_ensemble_is_that_member_calibrated(
    train: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    model = synthetic.fit(
        synthetic.make_model(members={"lightgbm": synthetic.LIGHTGBM_PARAMS}), train
    )

    assert model.weights_ == {"lightgbm": 1.0}
    np.testing.assert_allclose(
        model.predict_proba(holdout)[:, 1],
        model.member_probabilities(holdout)["lightgbm"],
        rtol=1e-12,
    )


def test_balanced_class_weight_raises_member_scores_not_calibrated_rates(
    fitted_model: ChurnEnsemble, train: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    balanced = synthetic.fit(synthetic.make_model(class_weight="balanced"), train)
    raw = balanced.members_["xgboost"].predict_proba(holdout)[:, 1]
    plain = fitted_model.members_["xgboost"].predict_proba(holdout)[:, 1]

    # Weighted members score far higher, calibration brings the rate back.
    assert raw.mean() > 2 * plain.mean()
    calibrated = balanced.predict_proba(holdout)[:, 1].mean()
    plain_calibrated = fitted_model.predict_proba(holdout)[:, 1].mean()
    assert calibrated == pytest.approx(plain_calibrated, rel=0.3)


def test_member_fit_rows_never_reach_the_calibration_start(
    fitted_model: ChurnEnsemble,
) -> None:
    periods = fitted_model.periods_
    calibration_start = pd.Timestamp(periods["calibration"][0])
    horizon = pd.Timedelta(days=synthetic.HORIZON_DAYS)
    allowed = [
        str(d.date()) for d in synthetic.FIT_DATES if d + horizon <= calibration_start
    ]

    assert calibration_start == synthetic.CALIBRATION_START
    assert periods["calibration"] == [str(d.date()) for d in synthetic.FIT_DATES[-2:]]
    assert periods["member_fit"] == allowed
    for date in periods["member_fit"]:
        assert pd.Timestamp(date) + horizon <= calibration_start
    # 2024-01-31's label window ends 2024-03-01, after the calibration start.
    excluded = str(synthetic.EXCLUDED_DATE.date())
    assert excluded not in periods["member_fit"] + periods["calibration"]


def test_labels_of_excluded_rows_do_not_influence_the_model(
    fitted_model: ChurnEnsemble, train: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    """Flipping every label whose window straddles the cut changes nothing."""
    straddling = train["as_of_date"] == synthetic.EXCLUDED_DATE
    assert not labels_known_by(
        train.loc[straddling, "as_of_date"],
        synthetic.CALIBRATION_START,
        synthetic.HORIZON_DAYS,
    ).any()
    train.loc[straddling, "label"] = 1.0 - train.loc[straddling, "label"]

    refitted = synthetic.fit(synthetic.make_model(), train)

    np.testing.assert_array_equal(
        refitted.predict_proba(holdout), fitted_model.predict_proba(holdout)
    )


def test_platt_calibration_matches_the_calibration_slice_rate(
    fitted_model: ChurnEnsemble, train: pd.DataFrame
) -> None:
    # An (effectively) unpenalised logistic fit with an intercept reproduces the
    # observed rate of the data it was fitted on.
    calibration = train[train["as_of_date"] >= synthetic.CALIBRATION_START]

    predicted = fitted_model.predict_proba(calibration)[:, 1].mean()

    assert predicted == pytest.approx(calibration["label"].mean(), abs=1e-4)


def test_calibrated_on_later_data(
    fitted_model: ChurnEnsemble, train: pd.DataFrame, holdout: pd.DataFrame
) -> None:
    """Mean predicted probability on later periods is close to the churn rate.

    The model is calibrated on 800 rows and judged on 4,000 later rows; both
    rates are binomial estimates of the same stationary rate, so three standard
    errors of their difference is an honest tolerance (about 0.035 here).
    """
    n_calibration = int((train["as_of_date"] >= synthetic.CALIBRATION_START).sum())
    observed = holdout["label"].mean()
    standard_error = np.sqrt(
        observed * (1 - observed) * (1 / n_calibration + 1 / len(holdout))
    )

    predicted = fitted_model.predict_proba(holdout)[:, 1].mean()

    assert abs(predicted - observed) <= 3 * standard_error


def test_unseen_categories_are_scored(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    rows = holdout.head(50).assign(
        plan="ultimate",
        billing_cycle="weekly",
        industry="biotech",
        acquisition_channel="podcast",
        country="JP",
    )

    proba = fitted_model.predict_proba(rows)[:, 1]
    explanation = fitted_model.explain(rows)

    assert np.all(np.isfinite(proba))
    assert np.all((proba > 0.0) & (proba < 1.0))
    np.testing.assert_allclose(
        explanation.base_value + explanation.contributions.sum(axis=1),
        fitted_model.decision_function(rows),
        rtol=0,
        atol=SHAP_ATOL,
    )


def test_monotone_constraints_reach_every_member(
    fitted_model: ChurnEnsemble,
) -> None:
    resolved = fitted_model.monotone_constraints_
    # Every window, trend and ratio of the usage signal is constrained.
    assert {"logins_7d", "logins_90d", "logins_per_seat_30d", "uses_reports_7d"} <= {
        name for name, sign in resolved.items() if sign == -1
    }
    expected = tuple(resolved.get(name, 0) for name in NUMERIC_FEATURES)
    for name in ("xgboost", "lightgbm"):
        tree = fitted_model.members_[name].named_steps["model"]
        constraints = tuple(tree.get_params()["monotone_constraints"])
        # Numeric columns come first; one-hot columns after them stay free.
        assert constraints[: len(expected)] == expected
        assert not any(constraints[len(expected) :])

    linear = fitted_model.members_["logistic_regression"]
    columns = linear.named_steps["preprocess"].get_feature_names_out()
    coef = dict(zip(columns, linear.named_steps["model"].coef_[0], strict=True))
    for feature, sign in resolved.items():
        assert sign * coef[feature] >= 0.0, feature


# ----------------------------------------------------------------- explaining
@pytest.mark.parametrize("table_name", ["train", "holdout"])
def test_shap_contributions_add_up_to_the_score(
    fitted_model: ChurnEnsemble, table_name: str
) -> None:
    table = (
        synthetic.training_table()
        if table_name == "train"
        else synthetic.holdout_table()
    )

    explanation = fitted_model.explain(table)

    reconstructed = explanation.base_value + explanation.contributions.sum(axis=1)
    error = np.abs(reconstructed.to_numpy() - fitted_model.decision_function(table))
    assert error.max() < SHAP_ATOL, f"max additivity error {error.max():.2e}"


def test_tabulated_tree_shap_equals_the_libraries(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame, monkeypatch
) -> None:
    explainer = ChurnExplainer(fitted_model)
    tabulated = explainer.explain(holdout)
    assert all(
        member.tables is not None
        for name, member in explainer._members.items()
        if name != "logistic_regression"
    )
    # Trees "too deep to tabulate": the explainer asks XGBoost and LightGBM.
    monkeypatch.setattr("churn_pipeline.models.tree_shap.MAX_TABLE_VALUES", 0)
    library_explainer = ChurnExplainer(fitted_model)

    library = library_explainer.explain(holdout)

    assert not any(m.tables for m in library_explainer._members.values())
    # XGBoost's own TreeSHAP sums in float32.
    np.testing.assert_allclose(
        tabulated.contributions, library.contributions, rtol=0, atol=1e-5
    )
    assert tabulated.base_value == pytest.approx(library.base_value, abs=1e-5)


def test_trees_the_paths_cannot_read_are_scored_by_the_libraries(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame, monkeypatch
) -> None:
    def refuse(*args: object) -> None:
        raise ValueError("not readable")

    monkeypatch.setattr("churn_pipeline.models.members.TreePaths.of", refuse)
    model = pickle.loads(pickle.dumps(fitted_model))  # routes read again on load
    explainer = ChurnExplainer(model)

    probability, explanation = explainer.predict_and_explain(holdout)

    assert not any(route.paths for route in model.member_routes.values())
    assert not any(m.tables for m in explainer._members.values())
    # XGBoost adds its leaves and its TreeSHAP in float32.
    np.testing.assert_allclose(
        probability, fitted_model.predict_proba(holdout)[:, 1], rtol=0, atol=1e-6
    )
    rebuilt = explanation.base_value + explanation.contributions.sum(axis=1)
    np.testing.assert_allclose(
        rebuilt, model.decision_function(holdout), rtol=0, atol=1e-5
    )


def test_predict_and_explain_is_predict_proba_and_explain(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    explainer = ChurnExplainer(fitted_model)

    probability, explanation = explainer.predict_and_explain(holdout)

    np.testing.assert_array_equal(
        probability, fitted_model.predict_proba(holdout)[:, 1]
    )
    pd.testing.assert_frame_equal(
        explanation.contributions, fitted_model.explain(holdout).contributions
    )


def test_an_unpickled_model_predicts_and_explains_as_the_fitted_one(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    loaded = pickle.loads(pickle.dumps(fitted_model))

    np.testing.assert_array_equal(
        loaded.predict_proba(holdout), fitted_model.predict_proba(holdout)
    )
    pd.testing.assert_frame_equal(
        loaded.explain(holdout).contributions,
        fitted_model.explain(holdout).contributions,
    )


def test_explanation_columns_are_the_input_features(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    rows = holdout.iloc[100:130].set_index(pd.Index(range(1000, 1030)))

    explanation = fitted_model.explain(rows)

    assert isinstance(explanation, Explanation)
    assert list(explanation.contributions.columns) == FEATURE_NAMES
    assert explanation.contributions.index.equals(rows.index)
    assert np.isfinite(explanation.contributions.to_numpy()).all()
    assert explanation.calibration_slope == fitted_model.calibration_slope_
    # One-hot columns are folded back: the row's own category carries a value.
    assert (explanation.contributions["plan"] != 0).any()


def test_explanation_reproduces_the_calibrated_probability(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    explanation = fitted_model.explain(holdout.head(200))
    logit = (
        explanation.calibration_slope
        * (explanation.base_value + explanation.contributions.sum(axis=1))
        + fitted_model.calibration_intercept_
    )

    np.testing.assert_allclose(
        expit(logit), fitted_model.predict_proba(holdout.head(200))[:, 1], atol=1e-5
    )


# ------------------------------------------------ sign-constrained linear member
def _collinear_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x1 drives churn down; x2 copies x1 and x3 = x1 + x2 plus noise.

    A plain logistic regression explains the label with x3 and gives x2 a
    positive coefficient, against the prior that x2 may only lower risk.
    """
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=3000)
    x2 = x1 + rng.normal(0, 0.3, size=3000)
    x3 = 2 * x1 + rng.normal(0, 0.3, size=3000)
    X = np.column_stack([x1, x2, x3])
    y = (rng.random(3000) < expit(-1.0 - 1.5 * x3 + 1.0 * x2)).astype(int)
    return X, y


def test_sign_constrained_regression_equals_plain_one_without_signs() -> None:
    X, y = _collinear_data()

    constrained = SignConstrainedLogisticRegression(params={"C": 0.5}).fit(X, y)
    plain = LogisticRegression(C=0.5).fit(X, y)

    np.testing.assert_array_equal(constrained.coef_, plain.coef_)
    np.testing.assert_array_equal(constrained.intercept_, plain.intercept_)
    np.testing.assert_allclose(constrained.predict_proba(X), plain.predict_proba(X))
    np.testing.assert_array_equal(constrained.predict(X), plain.predict(X))


def test_sign_constrained_regression_bounds_the_wrong_sign() -> None:
    X, y = _collinear_data()
    assert LogisticRegression().fit(X, y).coef_[0, 1] > 0  # the violation exists
    tight = {"tol": 1e-10, "max_iter": 10_000}

    model = SignConstrainedLogisticRegression(signs=[0, -1, -1], params=tight)
    model.fit(X, y)
    # The bound binds, so the optimum is the fit without that column.
    refit = LogisticRegression(**tight).fit(X[:, [0, 2]], y)

    assert model.coef_[0, 1] == 0.0
    np.testing.assert_array_equal(model.zeroed_columns_, [1])
    np.testing.assert_allclose(model.coef_[0, [0, 2]], refit.coef_[0], rtol=1e-6)
    np.testing.assert_allclose(
        model.decision_function(X), refit.decision_function(X[:, [0, 2]]), atol=1e-6
    )


def test_sign_constrained_regression_needs_one_sign_per_column() -> None:
    X, y = _collinear_data()

    with pytest.raises(ValueError, match="signs has 2 entries for 3 columns"):
        SignConstrainedLogisticRegression(signs=[1, -1]).fit(X, y)


def test_first_calls_from_many_threads_at_once_all_score(
    fitted_model: ChurnEnsemble, holdout: pd.DataFrame
) -> None:
    # A threaded server (MLflow's) makes its first calls concurrently on a freshly
    # loaded model.
    rows = holdout.head(3)
    expected = fitted_model.predict_proba(rows)
    for _ in range(10):
        model = pickle.loads(pickle.dumps(fitted_model))
        start = threading.Barrier(8)

        def score(model: ChurnEnsemble = model, start: threading.Barrier = start):
            start.wait()
            return model.predict_proba(rows)

        with ThreadPoolExecutor(8) as pool:
            results = [pool.submit(score) for _ in range(8)]
            for result in results:
                np.testing.assert_array_equal(result.result(), expected)
