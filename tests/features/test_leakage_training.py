"""Leakage proof for training: nothing is fitted outside the training rows.

Property-based, on random model input tables (every registry feature, random
as-of dates and horizons, labelled and unlabelled dates):

* ``split_snapshots`` never trains on a row whose label window
  ``(t, t + horizon]`` reaches the first test date, and every test row is later
  than every training row.
* The model the training node fits is a function of the training rows alone:
  altering every other row (test, the gap before it, unlabelled; features and
  labels) and adding rows leaves its predictions on any input identical. So no
  encoder, imputer, scaler or weight is fitted on them.
* Inside the ensemble, the members (their imputers, scalers, one-hot encoders
  and models) are fitted on the member-fit rows alone, and those rows' label
  windows close by the first calibration date.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from churn_pipeline.evaluation.time_split import labels_known_by
from churn_pipeline.features import FEATURES
from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.pipelines.model_training.nodes import (
    build_ensemble,
    split_snapshots,
    train_ensemble,
)

_CONF = yaml.safe_load(
    (
        Path(__file__).resolve().parents[2] / "conf/base/parameters_model_training.yml"
    ).read_text(encoding="utf-8")
)["model_training"]
NUMERIC = [f.name for f in FEATURES if f.kind == "numeric"]
CATEGORICAL = [f.name for f in FEATURES if f.kind == "categorical"]
KEYS = ["account_id", "as_of_date"]
ORIGIN = pd.Timestamp("2023-01-31")


def _params(horizon_days: int, n_test: int, n_calibration: int) -> dict[str, Any]:
    """The project's training parameters with a small, fast tree member."""
    return {
        **_CONF,
        "horizon_days": horizon_days,
        "n_test_snapshots": n_test,
        "n_calibration_snapshots": n_calibration,
        # Few small trees, one thread (see tests/models/synthetic.py).
        "members": {
            **_CONF["members"],
            "xgboost": {**_CONF["members"]["xgboost"], "n_estimators": 5, "n_jobs": 1},
            "lightgbm": {
                **_CONF["members"]["lightgbm"],
                "n_estimators": 5,
                "n_jobs": 1,
            },
        },
    }


def _rows(
    rng: np.random.Generator,
    dates: list[pd.Timestamp],
    n_accounts: int,
    *,
    labelled: bool,
    prefix: str = "A",
    shift: float = 0.0,
) -> pd.DataFrame:
    """Snapshots with every registry feature; ``shift`` moves every value.

    Each labelled date holds both classes, so every time slice can be fitted.
    """
    frames = []
    for date in dates:
        n = n_accounts
        numbers = {
            name: np.where(
                rng.random(n) < 0.1, np.nan, rng.gamma(2.0, 10.0, n).round() + shift
            )
            for name in NUMERIC
        }
        categories = [f"c{k}" for k in range(3)] if shift == 0 else ["new", "newer"]
        labels = (rng.random(n) < 0.3).astype(float)
        labels[:2] = [0.0, 1.0]
        frames.append(
            pd.DataFrame(
                {
                    "account_id": [f"{prefix}{i:03d}" for i in range(n)],
                    "as_of_date": date,
                    "label": labels if labelled else np.nan,
                    "is_labelled": labelled,
                    **numbers,
                    **{name: rng.choice(categories, n) for name in CATEGORICAL},
                }
            )
        )
    table = pd.concat(frames, ignore_index=True)
    table["as_of_date"] = table["as_of_date"].astype("datetime64[ns]")
    return table


@st.composite
def model_inputs(
    draw: st.DrawFn, n_accounts: int = 3
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A model input table (oldest dates labelled) and training parameters."""
    horizon = draw(st.sampled_from([7, 30, 60]), label="horizon_days")
    n_labelled = draw(st.integers(2, 9), label="n_labelled")
    n_unlabelled = draw(st.integers(0, 2), label="n_unlabelled")
    gaps = draw(
        st.lists(
            st.integers(1, 45),
            min_size=n_labelled + n_unlabelled,
            max_size=n_labelled + n_unlabelled,
        ),
        label="days_between_dates",
    )
    dates = [ORIGIN + pd.Timedelta(days=int(d)) for d in np.cumsum(gaps)]
    n_test = draw(st.integers(1, 3), label="n_test_snapshots")
    n_calibration = draw(st.integers(1, 2), label="n_calibration_snapshots")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    table = _rows(rng, dates[:n_labelled], n_accounts, labelled=True)
    if n_unlabelled:
        unlabelled = _rows(rng, dates[n_labelled:], n_accounts, labelled=False)
        table = pd.concat([table, unlabelled], ignore_index=True)
    return table, _params(horizon, n_test, n_calibration)


def _keys(frame: pd.DataFrame) -> set[tuple[str, pd.Timestamp]]:
    return set(zip(frame["account_id"], frame["as_of_date"], strict=True))


# ---------------------------------------------------------------- the split
@settings(max_examples=60, deadline=None)
@given(drawn=model_inputs())
def test_training_labels_close_before_the_test_period(
    drawn: tuple[pd.DataFrame, dict[str, Any]],
) -> None:
    table, params = drawn
    labelled_dates = sorted(table.loc[table["is_labelled"], "as_of_date"].unique())
    assume(len(labelled_dates) > params["n_test_snapshots"])

    train, test, scoring = split_snapshots(table, params)

    horizon = pd.Timedelta(days=params["horizon_days"])
    newest = labelled_dates[-params["n_test_snapshots"] :]
    assert sorted(test["as_of_date"].unique()) == newest
    test_start = test["as_of_date"].min()
    assert (train["as_of_date"] + horizon <= test_start).all()
    assert (train["as_of_date"] < test_start).all()
    assert not _keys(train) & _keys(test)
    assert train["is_labelled"].all() and test["is_labelled"].all()
    assert train["label"].notna().all() and test["label"].notna().all()
    assert not _keys(scoring) & (_keys(train) | _keys(test))
    assert not scoring["is_labelled"].any()


# ---------------------------------------------- fits see training rows only
def _fit(train: pd.DataFrame, params: dict[str, Any]) -> ChurnEnsemble:
    with threadpool_limits(limits=1, user_api="blas"):  # see synthetic.fit
        return train_ensemble(train, params, {"absent_tables": []}, {})


def _fit_ensemble(train: pd.DataFrame, params: dict[str, Any]) -> ChurnEnsemble:
    model = build_ensemble(NUMERIC, CATEGORICAL, params)
    with threadpool_limits(limits=1, user_api="blas"):
        return model.fit(train, train["label"], periods=train["as_of_date"])


def _fittable(train: pd.DataFrame, params: dict[str, Any]) -> bool:
    """Whether the ensemble's own time split leaves member-fit rows."""
    dates = sorted(train["as_of_date"].unique())
    n_calibration = params["n_calibration_snapshots"]
    if len(dates) <= n_calibration:
        return False
    member_fit = labels_known_by(
        pd.Series(dates), pd.Timestamp(dates[-n_calibration]), params["horizon_days"]
    )
    return bool(member_fit.any())


def _altered(
    table: pd.DataFrame, rows: np.ndarray, seed: int, *, labels: bool = True
) -> pd.DataFrame:
    """``table`` with the feature values (and labels) of ``rows`` redrawn far off."""
    changed = table.copy()
    if not rows.any():
        return changed
    rng = np.random.default_rng(seed)
    fresh = _rows(rng, [pd.Timestamp(0)], int(rows.sum()), labelled=True, shift=1e4)
    for name in [*NUMERIC, *CATEGORICAL]:
        changed.loc[rows, name] = fresh[name].to_numpy()
    if labels:
        flipped = 1.0 - changed.loc[rows, "label"]
        changed.loc[rows, "label"] = flipped.where(changed.loc[rows, "is_labelled"])
    return changed


_FIT_SETTINGS = settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@_FIT_SETTINGS
@given(drawn=model_inputs(n_accounts=25), seed=st.integers(0, 2**32 - 1))
def test_the_trained_model_depends_on_training_rows_only(
    drawn: tuple[pd.DataFrame, dict[str, Any]], seed: int
) -> None:
    table, params = drawn
    labelled_dates = sorted(table.loc[table["is_labelled"], "as_of_date"].unique())
    assume(len(labelled_dates) > params["n_test_snapshots"])
    train, _, _ = split_snapshots(table, params)
    assume(_fittable(train, params))
    model = _fit(train, params)

    # Every row that may not be trained on, by the rule rather than by what
    # split_snapshots returned: test rows, rows whose label window reaches the
    # first test date, unlabelled rows. Plus new accounts at those dates and a
    # later unlabelled date.
    test_start = labelled_dates[-params["n_test_snapshots"]]
    outside = ~(
        table["is_labelled"].to_numpy()
        & labels_known_by(table["as_of_date"], test_start, params["horizon_days"])
    )
    changed = _altered(table, outside, seed)
    rng = np.random.default_rng(seed)
    later = table["as_of_date"].max() + pd.Timedelta(days=1)
    added = [
        _rows(rng, [date], 4, labelled=bool(labelled), prefix="N", shift=1e4)
        for date, labelled in table.loc[outside, ["as_of_date", "is_labelled"]]
        .drop_duplicates()
        .itertuples(index=False)
    ]
    added.append(_rows(rng, [later], 4, labelled=False, prefix="N", shift=1e4))
    changed = pd.concat([changed, *added], ignore_index=True)
    changed_train, _, _ = split_snapshots(changed, params)
    changed_model = _fit(changed_train, params)

    pd.testing.assert_frame_equal(changed_train, train)
    probe = pd.concat([table, changed], ignore_index=True)
    np.testing.assert_array_equal(
        changed_model.predict_proba(probe), model.predict_proba(probe)
    )


@_FIT_SETTINGS
@given(drawn=model_inputs(n_accounts=25), seed=st.integers(0, 2**32 - 1))
def test_members_are_fitted_on_member_fit_rows_only(
    drawn: tuple[pd.DataFrame, dict[str, Any]], seed: int
) -> None:
    table, params = drawn
    train = table[table["is_labelled"]].reset_index(drop=True)
    assume(_fittable(train, params))
    model = _fit_ensemble(train, params)

    member_fit = pd.to_datetime(model.periods_["member_fit"])
    calibration = pd.to_datetime(model.periods_["calibration"])
    horizon = pd.Timedelta(days=params["horizon_days"])
    assert (member_fit + horizon <= calibration.min()).all()
    # Alter every other row's features; calibration rows keep their labels (the
    # calibration needs both classes), the rows between lose theirs too.
    outside = ~train["as_of_date"].isin(member_fit).to_numpy()
    changed = _altered(train, outside, seed, labels=False)
    between = ~train["as_of_date"].isin(member_fit.union(calibration)).to_numpy()
    changed.loc[between, "label"] = 1.0 - changed.loc[between, "label"]
    changed_model = _fit_ensemble(changed, params)

    probe = pd.concat([train, changed], ignore_index=True)
    for name, member in model.members_.items():
        preprocess = changed_model.members_[name].named_steps["preprocess"]
        np.testing.assert_array_equal(
            preprocess.transform(probe),
            member.named_steps["preprocess"].transform(probe),
        )
    # The members themselves (before their own calibration, which is fitted
    # on the calibration rows by design) see member-fit rows only.
    for name, member in model.members_.items():
        np.testing.assert_array_equal(
            changed_model.members_[name].predict_proba(probe),
            member.predict_proba(probe),
        )
