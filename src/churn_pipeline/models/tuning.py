"""Tune members' hyperparameters with Optuna.

Two ways to hold rows out: a time-ordered validation slice (event data,
:func:`tune_members`) or cross-validation splits of a one-row-per-customer table
(:func:`tune_members_cv`, called inside each outer fold for nested CV). Either
way each member in the search space is tuned on its own, by EMPC, with a TPE
sampler seeded with the model's ``random_state``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone

from churn_pipeline.evaluation.economics import RetentionEconomics
from churn_pipeline.evaluation.profit import empc
from churn_pipeline.evaluation.time_split import labels_known_by
from churn_pipeline.models.ensemble import MEMBERS, ChurnEnsemble

logger = logging.getLogger(__name__)

_KINDS = ("int", "float")
SearchSpace = Mapping[str, Mapping[str, Mapping[str, Any]]]
# Row positions of one split: (fit rows, validation rows).
Split = tuple[np.ndarray, np.ndarray]
# Scores one candidate (a one-member ensemble, unfitted) by validation EMPC.
Objective = Callable[[ChurnEnsemble], float]


def _suggest(trial: optuna.Trial, name: str, spec: Mapping[str, Any]) -> Any:
    kind = spec.get("type", "float")
    if kind not in _KINDS:
        raise ValueError(
            f"Search space entry {name!r}: type must be one of {list(_KINDS)}, "
            f"got {kind!r}"
        )
    low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
    if kind == "int":
        return trial.suggest_int(name, int(low), int(high), log=log)
    return trial.suggest_float(name, float(low), float(high), log=log)


def _wants_tuning(search_space: SearchSpace, n_trials: int) -> bool:
    """Check the settings; False when there is nothing to tune."""
    if n_trials < 0:
        raise ValueError(f"n_trials must be >= 0, got {n_trials}")
    unknown = sorted(set(search_space) - set(MEMBERS))
    if unknown:
        raise ValueError(
            f"search_space names unknown members {unknown}; allowed: {list(MEMBERS)}"
        )
    return n_trials > 0 and bool(search_space)


def _tune_each_member(
    model: ChurnEnsemble,
    search_space: SearchSpace,
    n_trials: int,
    objective: Objective,
    where: str,
) -> dict[str, dict[str, Any]]:
    """Run one seeded study per member; its best arguments per member.

    Args:
        model: The unfitted ensemble (member arguments to start from, seed).
        search_space: Member -> argument -> range.
        n_trials: Trials per member.
        objective: Scores one unfitted one-member candidate.
        where: What the score is measured on, for the log lines.
    """
    base = model.member_params()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    best: dict[str, dict[str, Any]] = {}
    for member, space in search_space.items():

        def trial_value(
            trial: optuna.Trial, member: str = member, space: Any = space
        ) -> float:
            params = {name: _suggest(trial, name, spec) for name, spec in space.items()}
            candidate = clone(model).set_params(
                members={member: {**base.get(member, {}), **params}}
            )
            value = objective(candidate)
            logger.info(
                "Tuning %s: trial %d/%d %s EMPC %.4f %s",
                member,
                trial.number + 1,
                n_trials,
                where,
                value,
                params,
            )
            return value

        sampler = optuna.samplers.TPESampler(seed=model.random_state)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(trial_value, n_trials=n_trials)
        best[member] = dict(study.best_params)
        logger.info(
            "Tuned %s: %s EMPC %.4f with %s",
            member,
            where,
            study.best_value,
            best[member],
        )
    return best


def tune_members(
    labelled: pd.DataFrame,
    model: ChurnEnsemble,
    *,
    search_space: SearchSpace,
    n_trials: int,
    n_validation_periods: int,
    profit: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    """Best estimator arguments per member, by EMPC on the newest periods.

    Each member in ``search_space`` is tuned on its own: a trial fits a
    one-member copy of ``model`` (its calibration split included) on the rows
    whose labels close before the validation periods, and scores EMPC on the
    newest ``n_validation_periods`` as-of dates. The sampler is seeded with the
    model's ``random_state``, so the same data gives the same choice.

    Args:
        labelled: Labelled snapshots (``as_of_date``, ``label``, features); pass
            only rows the later evaluation may not judge on.
        model: The unfitted ensemble whose member arguments are the starting
            point.
        search_space: Member -> argument -> ``{low, high, type: int|float, log}``.
        n_trials: Trials per member; 0 returns ``{}``.
        n_validation_periods: Newest as-of dates scored.
        profit: ``profit`` parameters (for EMPC).

    Returns:
        Member -> the best arguments found (only the tuned ones).

    Raises:
        ValueError: On unknown members, bad search-space entries, or too few
            as-of dates.
    """
    if not _wants_tuning(search_space, n_trials):
        return {}
    dates = sorted(pd.to_datetime(labelled["as_of_date"]).unique())
    if n_validation_periods < 1 or len(dates) <= n_validation_periods:
        raise ValueError(
            f"Tuning needs n_validation_periods >= 1 and more as-of dates than "
            f"that: n_validation_periods={n_validation_periods}, {len(dates)} dates"
        )
    start = pd.Timestamp(dates[-n_validation_periods])
    fit = labelled[labels_known_by(labelled["as_of_date"], start, model.horizon_days)]
    validation = labelled[labelled["as_of_date"] >= start]
    y_true = validation["label"].to_numpy(dtype=int)
    economics = RetentionEconomics.from_params(profit)

    def objective(candidate: ChurnEnsemble) -> float:
        candidate.fit(fit, fit["label"], periods=fit["as_of_date"])
        score = candidate.predict_proba(validation)[:, 1]
        return empc(y_true, score, economics).profit

    return _tune_each_member(model, search_space, n_trials, objective, "validation")


def tune_members_cv(
    rows: pd.DataFrame,
    y: np.ndarray,
    model: ChurnEnsemble,
    *,
    search_space: SearchSpace,
    n_trials: int,
    splits: Sequence[Split],
    profit: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    """Best estimator arguments per member, by mean EMPC over CV splits.

    For a table without a time axis (one row per customer). A trial fits a
    one-member copy of ``model`` on each split's fit rows (its random
    calibration share included) and scores EMPC on the split's validation
    rows; the trial's value is the mean over splits. Inside an outer CV fold,
    pass that fold's training rows only, so the outer test rows never choose.

    Args:
        rows: Feature rows.
        y: Binary labels of ``rows``.
        model: The unfitted ensemble whose member arguments are the start.
        search_space: Member -> argument -> ``{low, high, type: int|float, log}``.
        n_trials: Trials per member; 0 returns ``{}``.
        splits: (fit positions, validation positions) into ``rows``.
        profit: ``profit`` parameters (for EMPC).

    Returns:
        Member -> the best arguments found (only the tuned ones).

    Raises:
        ValueError: On unknown members, bad search-space entries, or no splits.
    """
    if not _wants_tuning(search_space, n_trials):
        return {}
    if not splits:
        raise ValueError("Tuning by cross-validation needs at least one split")
    y = np.asarray(y, dtype=int)
    economics = RetentionEconomics.from_params(profit)

    def objective(candidate: ChurnEnsemble) -> float:
        values = []
        for fit_rows, validation_rows in splits:
            fitted = clone(candidate).fit(rows.iloc[fit_rows], y[fit_rows])
            score = fitted.predict_proba(rows.iloc[validation_rows])[:, 1]
            values.append(empc(y[validation_rows], score, economics).profit)
        return float(np.mean(values))

    return _tune_each_member(
        model, search_space, n_trials, objective, f"{len(splits)}-fold CV"
    )
