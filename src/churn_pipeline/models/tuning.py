"""Tune members' hyperparameters with Optuna on a time-ordered validation slice."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import optuna
import pandas as pd
from sklearn.base import clone

from churn_pipeline.evaluation.economics import RetentionEconomics
from churn_pipeline.evaluation.profit import empc
from churn_pipeline.evaluation.time_split import labels_known_by
from churn_pipeline.models.ensemble import MEMBERS, ChurnEnsemble

logger = logging.getLogger(__name__)

_KINDS = ("int", "float")


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


def tune_members(
    labelled: pd.DataFrame,
    model: ChurnEnsemble,
    *,
    search_space: Mapping[str, Mapping[str, Mapping[str, Any]]],
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
    if n_trials < 0:
        raise ValueError(f"n_trials must be >= 0, got {n_trials}")
    unknown = sorted(set(search_space) - set(MEMBERS))
    if unknown:
        raise ValueError(
            f"search_space names unknown members {unknown}; allowed: {list(MEMBERS)}"
        )
    if n_trials == 0 or not search_space:
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
    base = model.member_params()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    best: dict[str, dict[str, Any]] = {}
    for member, space in search_space.items():

        def objective(trial: optuna.Trial, member: str = member, space=space) -> float:
            params = {name: _suggest(trial, name, spec) for name, spec in space.items()}
            candidate = clone(model).set_params(
                members={member: {**base.get(member, {}), **params}}
            )
            candidate.fit(fit, fit["label"], periods=fit["as_of_date"])
            score = candidate.predict_proba(validation)[:, 1]
            value = empc(y_true, score, economics).profit
            logger.info(
                "Tuning %s: trial %d/%d EMPC %.4f %s",
                member,
                trial.number + 1,
                n_trials,
                value,
                params,
            )
            return value

        sampler = optuna.samplers.TPESampler(seed=model.random_state)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(objective, n_trials=n_trials)
        best[member] = dict(study.best_params)
        logger.info(
            "Tuned %s: validation EMPC %.4f with %s",
            member,
            study.best_value,
            best[member],
        )
    return best
