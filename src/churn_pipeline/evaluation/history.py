"""How many labelled as-of dates each training slice gets, checked before any fit.

A time-respecting run cuts the labelled as-of dates into slices: the newest
``n_test_snapshots`` are the out-of-time test; a model trained before a cut-off
sees only dates whose label window closes by it, and inside those the newest
``n_calibration_snapshots`` fit the blend and calibration while the older dates
whose labels close before them fit the members. The backtest trains such a model
before each of its ``backtest_origins``, and tuning before the first origin.
With a short history some slice is empty; this module says which, with its
dates and the parameter that sizes it, before minutes of fitting are spent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from churn_pipeline.evaluation.time_split import labels_known_by

# The largest history the minimum search tries, in as-of dates.
_LONGEST_SEARCH = 240


class HistoryError(ValueError):
    """Too little labelled history for the configured slices."""


@dataclass(frozen=True)
class Slice:
    """One slice of labelled as-of dates a model is fitted or judged on.

    Attributes:
        name: What the slice is for, e.g. ``"final model: member fit"``.
        dates: Its as-of dates, oldest first (empty when the history is short).
        parameter: The parameter that sizes it or the slice after it.
        need: What it needs, in words.
    """

    name: str
    dates: tuple[pd.Timestamp, ...]
    parameter: str
    need: str

    def describe(self) -> str:
        """The slice and its dates, or what it lacks."""
        if not self.dates:
            return f"{self.name}: EMPTY; it needs {self.need} ({self.parameter})"
        return f"{self.name}: {_span(self.dates)} ({self.parameter})"


def _span(dates: Sequence[pd.Timestamp]) -> str:
    first, last = dates[0].date(), dates[-1].date()
    count = f"{len(dates)} date{'s' if len(dates) != 1 else ''}"
    return f"{count}, {first}" if first == last else f"{count}, {first} .. {last}"


def _model_slices(
    dates: Sequence[pd.Timestamp],
    cutoff: pd.Timestamp,
    what: str,
    horizon_days: int,
    n_calibration: int,
) -> list[Slice]:
    """The member-fit and calibration slices of a model trained before ``cutoff``."""
    known = _known(dates, cutoff, horizon_days)
    calibration = tuple(known[-n_calibration:]) if len(known) > n_calibration else ()
    member: tuple[pd.Timestamp, ...] = ()
    if calibration:
        member = tuple(_known(known, calibration[0], horizon_days))
    return [
        Slice(
            f"{what}: member fit",
            member,
            f"model_training.horizon_days={horizon_days}",
            f"as-of dates whose {horizon_days}-day labels close before the "
            "calibration dates",
        ),
        Slice(
            f"{what}: calibration",
            calibration,
            f"model_training.n_calibration_snapshots={n_calibration}",
            f"the {n_calibration} newest dates whose labels close by "
            f"{cutoff.date()}, and older ones for the members",
        ),
    ]


def _known(
    dates: Sequence[pd.Timestamp], cutoff: pd.Timestamp, horizon_days: int
) -> list[pd.Timestamp]:
    """The dates whose label windows close by ``cutoff``."""
    known = labels_known_by(pd.Series(list(dates)), cutoff, horizon_days)
    return [d for d, ok in zip(dates, known, strict=True) if ok]


def training_slices(
    dates: Sequence[pd.Timestamp],
    training: Mapping[str, Any],
    evaluation: Mapping[str, Any] | None = None,
) -> list[Slice]:
    """Every slice the run fits or judges on, from the labelled as-of dates.

    Args:
        dates: Distinct labelled as-of dates.
        training: ``model_training`` parameters.
        evaluation: ``model_evaluation`` parameters; ``None`` leaves out the
            backtest and tuning slices.

    Returns:
        The slices in the order the run meets them; empty ones mean too little
        history.
    """
    dates = sorted(pd.Timestamp(d) for d in set(dates))
    horizon = int(training["horizon_days"])
    n_cal = int(training["n_calibration_snapshots"])
    n_test = int(training["n_test_snapshots"])
    test = tuple(dates[-n_test:]) if len(dates) > n_test else ()
    slices = [
        Slice(
            "out-of-time test",
            test,
            f"model_training.n_test_snapshots={n_test}",
            f"more than {n_test} labelled as-of dates",
        )
    ]
    if test:
        slices += _model_slices(dates, test[0], "final model", horizon, n_cal)
    if evaluation is None:
        return slices
    n_origins = int(evaluation["backtest_origins"])
    origins = tuple(dates[-n_origins:]) if len(dates) > n_origins else ()
    slices.append(
        Slice(
            "backtest origins",
            origins,
            f"model_evaluation.backtest_origins={n_origins}",
            f"more than {n_origins} labelled as-of dates",
        )
    )
    if origins:
        # The oldest origin has the least history: if it fits, all do.
        slices += _model_slices(
            dates, origins[0], f"backtest origin {origins[0].date()}", horizon, n_cal
        )
        slices += _tuning_slices(dates, origins[0], training)
    return slices


def _tuning_slices(
    dates: Sequence[pd.Timestamp],
    first_origin: pd.Timestamp,
    training: Mapping[str, Any],
) -> list[Slice]:
    tuning = training.get("tuning") or {}
    if not tuning.get("n_trials") or not tuning.get("search_space"):
        return []
    horizon = int(training["horizon_days"])
    n_validation = int(tuning["n_validation_snapshots"])
    before = _known(dates, first_origin, horizon)
    validation = tuple(before[-n_validation:]) if len(before) > n_validation else ()
    slices = [
        Slice(
            "tuning validation",
            validation,
            f"model_training.tuning.n_validation_snapshots={n_validation}",
            f"more than {n_validation} as-of dates whose labels close by the "
            f"first backtest origin {first_origin.date()}",
        )
    ]
    if validation:
        n_calibration = int(training["n_calibration_snapshots"])
        slices += _model_slices(before, validation[0], "tuning", horizon, n_calibration)
    return slices


def minimum_dates(
    dates: Sequence[pd.Timestamp],
    training: Mapping[str, Any],
    evaluation: Mapping[str, Any] | None = None,
) -> int | None:
    """The fewest labelled as-of dates, spaced like ``dates``, that fill every slice.

    Returns:
        The count, or ``None`` when the spacing cannot be inferred (fewer than
        three dates) or no history up to the search limit suffices.
    """
    ordered = sorted(pd.Timestamp(d) for d in set(dates))
    if len(ordered) < 3:
        return None
    frequency = pd.infer_freq(pd.DatetimeIndex(ordered))
    step = pd.tseries.frequencies.to_offset(frequency) if frequency else None
    for count in range(1, _LONGEST_SEARCH + 1):
        if step is not None:
            trial = list(pd.date_range(end=ordered[-1], periods=count, freq=step))
        else:
            gap = (ordered[-1] - ordered[0]) / (len(ordered) - 1)
            trial = [ordered[-1] - gap * k for k in range(count)][::-1]
        if all(s.dates for s in training_slices(trial, training, evaluation)):
            return count
    return None


def check_history(
    labelled: pd.DataFrame,
    training: Mapping[str, Any],
    evaluation: Mapping[str, Any] | None = None,
) -> list[Slice]:
    """Raise one error naming every slice too little history leaves empty.

    Args:
        labelled: Labelled snapshots (``as_of_date``).
        training: ``model_training`` parameters.
        evaluation: ``model_evaluation`` parameters (``None``: the split's
            slices only).

    Returns:
        The slices, all non-empty.

    Raises:
        HistoryError: Naming the empty slices, the dates of the others, the
            parameters that size them and the fewest dates that would do.
    """
    dates = sorted(pd.Timestamp(d) for d in pd.to_datetime(labelled["as_of_date"]))
    distinct = sorted(set(dates))
    slices = training_slices(distinct, training, evaluation)
    if all(s.dates for s in slices):
        return slices
    needed = minimum_dates(distinct, training, evaluation)
    found = f"labelled as-of dates: {_span(distinct)}" if distinct else "none"
    lines = [
        f"Too little history to train and judge the model ({found}):",
        *(f"  - {s.describe()}" for s in slices),
    ]
    if needed is not None:
        lines.append(
            f"With these parameters the run needs at least {needed} labelled "
            "as-of dates spaced like these."
        )
    lines.append(
        "Fix: give more history (feature_engineering.max_snapshots, "
        "min_history_days or observation_end in parameters_feature_engineering.yml, "
        "or older data), or lower model_evaluation.backtest_origins, "
        "model_training.n_test_snapshots, n_calibration_snapshots or "
        "tuning.n_validation_snapshots (tuning.n_trials: 0 switches tuning off). "
        "docs/data_contract.md lists the minimum history per input kind."
    )
    raise HistoryError("\n".join(lines))
