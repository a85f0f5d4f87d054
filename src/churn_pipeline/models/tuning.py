"""Tune members' hyperparameters with Optuna.

Two ways to hold rows out: a time-ordered validation slice (event data,
:func:`tune_members`) or cross-validation splits of a one-row-per-customer table
(:func:`tune_members_cv`, called inside each outer fold for nested CV). Either
way each member in the search space is tuned on its own, by EMPC, with a TPE
sampler seeded with the model's ``random_state``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn.base import clone

from churn_pipeline.evaluation.economics import RetentionEconomics
from churn_pipeline.evaluation.profit import empc
from churn_pipeline.evaluation.snapshots import weights_of
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


def _wants_tuning(
    search_space: SearchSpace, n_trials: int, timeout_minutes: float | None = None
) -> bool:
    """Check the settings; False when there is nothing to tune."""
    if n_trials < 0:
        raise ValueError(f"n_trials must be >= 0, got {n_trials}")
    if timeout_minutes is not None and not timeout_minutes > 0:
        raise ValueError(
            f"timeout_minutes must be > 0 or None (no time budget), "
            f"got {timeout_minutes}"
        )
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
    timeout_minutes: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Run one seeded study per member; its best arguments per member.

    Args:
        model: The unfitted ensemble (member arguments to start from, seed).
        search_space: Member -> argument -> range.
        n_trials: Trials per member.
        objective: Scores one unfitted one-member candidate.
        where: What the score is measured on, for the log lines.
        timeout_minutes: Budget for all members together; each member's study
            gets an equal share of what is left when it starts (a trial under
            way finishes, at least one runs). ``None``: ``n_trials`` alone.
    """
    base = model.member_params()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    best: dict[str, dict[str, Any]] = {}
    deadline = (
        None if timeout_minutes is None else time.monotonic() + 60 * timeout_minutes
    )
    members = list(search_space.items())
    for index, (member, space) in enumerate(members):

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
        timeout = None
        if deadline is not None:
            left = max(deadline - time.monotonic(), 0.0)
            timeout = left / (len(members) - index)
        ran = _optimize(study, trial_value, n_trials, timeout)
        best[member] = dict(study.best_params)
        logger.info(
            "Tuned %s: %d of %d trials (%s), %s EMPC %.4f with %s",
            member,
            ran,
            n_trials,
            "all ran" if ran >= n_trials else f"time budget {timeout:.0f} s spent",
            where,
            study.best_value,
            best[member],
        )
    return best


def _optimize(
    study: optuna.Study,
    trial_value: Callable[[optuna.Trial], float],
    n_trials: int,
    timeout: float | None,
) -> int:
    """Run up to ``n_trials`` trials within ``timeout`` seconds; how many ran.

    One trial always runs, so every member gets a value even when the members
    before it spent the budget.
    """
    started = time.monotonic()
    study.optimize(trial_value, n_trials=1)
    if n_trials > 1:
        spent = time.monotonic() - started
        rest = None if timeout is None else max(timeout - spent, 0.0)
        if rest is None or rest > 0:
            study.optimize(trial_value, n_trials=n_trials - 1, timeout=rest)
    return len(study.trials)


def tune_members(
    labelled: pd.DataFrame,
    model: ChurnEnsemble,
    *,
    search_space: SearchSpace,
    n_trials: int,
    n_validation_periods: int,
    profit: Mapping[str, Any],
    timeout_minutes: float | None = None,
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
        timeout_minutes: Time budget over all members; ``None``: none.

    A ``sample_weight`` column (subsampled non-churners,
    :mod:`churn_pipeline.evaluation.snapshots`) weighs the fits; validation
    rows are scored unweighted, so sample them uniformly if at all.

    Returns:
        Member -> the best arguments found (only the tuned ones).

    Raises:
        ValueError: On unknown members, bad search-space entries, a bad
            budget, or too few as-of dates.
    """
    if not _wants_tuning(search_space, n_trials, timeout_minutes):
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
    weight = weights_of(fit)

    def objective(candidate: ChurnEnsemble) -> float:
        candidate.fit(
            fit, fit["label"], periods=fit["as_of_date"], sample_weight=weight
        )
        score = candidate.predict_proba(validation)[:, 1]
        return empc(y_true, score, economics).profit

    return _tune_each_member(
        model, search_space, n_trials, objective, "validation", timeout_minutes
    )


def tune_members_cv(
    rows: pd.DataFrame,
    y: np.ndarray,
    model: ChurnEnsemble,
    *,
    search_space: SearchSpace,
    n_trials: int,
    splits: Sequence[Split],
    profit: Mapping[str, Any],
    timeout_minutes: float | None = None,
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
        timeout_minutes: Time budget over all members; ``None``: none.

    Returns:
        Member -> the best arguments found (only the tuned ones).

    Raises:
        ValueError: On unknown members, bad search-space entries, a bad
            budget, or no splits.
    """
    if not _wants_tuning(search_space, n_trials, timeout_minutes):
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
        model,
        search_space,
        n_trials,
        objective,
        f"{len(splits)}-fold CV",
        timeout_minutes,
    )
