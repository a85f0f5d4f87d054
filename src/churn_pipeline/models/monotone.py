"""Monotone constraints: patterns to features, and the fitted ensemble's guarantee.

A constraint says which way churn risk may move with a feature, all else equal:
``+1`` only up, ``-1`` only down, ``0`` free. The configuration names features
with shell-style patterns (:mod:`fnmatch`), so one line covers every window and
ratio of a signal (``"logins_*": -1``). The ensemble's probability is monotone
in a constrained feature when every member is (monotone trees, sign-bounded
linear coefficients), the blend weights are non-negative and the calibration
slope is non-negative: :func:`monotone_violations` checks all four.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

SIGNS = (-1, 0, 1)


def _matches(pattern: str, features: Sequence[str]) -> list[str]:
    # fnmatchcase: the same answer on every OS (fnmatch folds case on Windows).
    return [name for name in features if fnmatch.fnmatchcase(name, pattern)]


def resolve_constraints(
    patterns: Mapping[str, int] | None, features: Sequence[str]
) -> dict[str, int]:
    """Feature -> sign of every feature a pattern matches, in ``features`` order.

    Args:
        patterns: Feature name or :mod:`fnmatch` pattern -> -1, 0 or 1.
        features: The numeric features the model is fitted on.

    Returns:
        Each matched feature's sign (zeros included: explicitly free).

    Raises:
        ValueError: On a sign other than -1, 0, 1; on a pattern matching no
            feature (naming it and listing the features: a typo would otherwise
            leave a whole signal unconstrained); on a feature two patterns give
            different signs (naming both).
    """
    patterns = dict(patterns or {})
    bad = {k: v for k, v in patterns.items() if v not in SIGNS or isinstance(v, bool)}
    if bad:
        raise ValueError(f"monotone_constraints values must be -1, 0 or 1: {bad}")
    unmatched = [p for p in patterns if not _matches(p, features)]
    if unmatched:
        raise ValueError(
            f"monotone_constraints patterns {unmatched} match no numeric feature; "
            f"allowed: {sorted(features)}"
        )
    source: dict[str, str] = {}
    for pattern, sign in patterns.items():
        for name in _matches(pattern, features):
            earlier = source.setdefault(name, pattern)
            if patterns[earlier] != sign:
                raise ValueError(
                    f"monotone_constraints give {name!r} two signs: "
                    f"{earlier!r}: {patterns[earlier]} and {pattern!r}: {sign}"
                )
    return {name: int(patterns[source[name]]) for name in features if name in source}


def applicable_constraints(
    patterns: Mapping[str, int] | None, features: Sequence[str]
) -> dict[str, int]:
    """The patterns that match at least one of ``features``; the rest logged.

    One set of domain priors serves every dataset (demo, RavenStack, a customer
    table): a signal a dataset does not have is skipped there, said in the log,
    rather than failing the run. Typos in the shipped configuration are caught
    by a test that every pattern matches a registry feature.

    Args:
        patterns: Feature name or pattern -> sign, as configured.
        features: The numeric features this dataset feeds the model.

    Returns:
        The configured entries that apply, unchanged (still patterns).
    """
    patterns = dict(patterns or {})
    kept = {p: sign for p, sign in patterns.items() if _matches(p, features)}
    skipped = sorted(set(patterns) - set(kept))
    if skipped:
        logger.info(
            "Monotone constraints without a matching feature here, skipped: %s",
            skipped,
        )
    return kept


def monotone_violations(model: Any) -> list[str]:
    """Why a fitted ensemble's probability might not follow its constraints.

    Checks that every tree member carries the constraints on its numeric columns
    (one-hot columns free), that every constrained linear coefficient has its
    sign, that blend weights are non-negative and that the calibration slopes
    (ensemble and members) are non-negative.

    Args:
        model: A fitted ``ChurnEnsemble``.

    Returns:
        One message per violation; empty when the guarantee holds.
    """
    constraints = model.monotone_constraints_
    problems = []
    for name, member in model.members_.items():
        columns = [
            str(c) for c in member.named_steps["preprocess"].get_feature_names_out()
        ]
        expected = np.array([constraints.get(column, 0) for column in columns])
        estimator = member.named_steps["model"]
        if hasattr(estimator, "coef_"):
            coef = np.asarray(estimator.coef_, dtype=float)[0]
            wrong = [
                c for c, s, w in zip(columns, expected, coef, strict=True) if s * w < 0
            ]
            if wrong:
                problems.append(f"{name}: coefficients against their sign: {wrong}")
            continue
        given = estimator.get_params().get("monotone_constraints")
        actual = np.zeros(len(columns)) if not given else np.asarray(given)
        if actual.shape != expected.shape or (actual != expected).any():
            differ = {
                c: (int(a), int(e))
                for c, a, e in zip(columns, actual, expected, strict=False)
                if a != e
            }
            problems.append(
                f"{name}: tree constraints differ from the resolved ones "
                f"(column: (given, expected)): {differ}"
            )
    negative = {k: w for k, w in model.weights_.items() if w < 0}
    if negative:
        problems.append(f"negative blend weights: {negative}")
    slopes = {"ensemble": model.calibration_slope_}
    slopes |= {k: slope for k, (slope, _) in model.member_calibration_.items()}
    decreasing = {k: s for k, s in slopes.items() if s < 0}
    if decreasing:
        problems.append(f"decreasing calibration maps (slope < 0): {decreasing}")
    return problems
