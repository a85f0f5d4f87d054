"""Leakage proof for the features, the snapshot spine and the label.

Property-based: small random but contract-valid raw tables (see
``tests.features.strategies``) go through ``model_input`` on DuckDB.

* Records dated after the as-of day ``t`` (events, usage, tickets opened later
  or closed later, invoices, NPS answers, accounts signing up later) may be
  added, removed or altered without changing any feature or spine row at ``t``;
  nor may the other as-of dates computed alongside ``t``.
* An account is in the snapshot at ``t`` exactly when it signed up on or before
  ``t`` and an even number of lifecycle events is dated on or before ``t``.
* A labelled row's label is 1 exactly when a cancellation is dated in
  ``(t, t + horizon]``; an unlabelled row's label is null.

"Dated on day ``d``" means the record's date, or its timestamp's calendar day, is
``d`` (the point-in-time rule of ``churn_pipeline.features.pit``).

Compiling the 66-feature expression to SQL takes ~2 s, running it ~0.3 s, so
each as-of configuration is compiled once against named tables and every example
only swaps the data behind those names. The as-of days are therefore a few fixed
ones (a leap day, a month end); the data's dates are drawn around them, which
covers the same cases because every feature is defined by day arithmetic only.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from tests.features import strategies
from tests.features.strategies import (
    ALLOWED,
    COLUMNS,
    USAGE_COLUMNS,
    USAGE_START_DAY,
    World,
    day_start,
)

from churn_pipeline.features.build import model_input
from churn_pipeline.features.engine import connect
from churn_pipeline.features.pit import KEYS
from churn_pipeline.validation import validate_table
from churn_pipeline.validation.lifecycle import (
    CANCELLATION,
    LIFECYCLE_EVENTS,
    REACTIVATION,
)

_FEATURE_PARAMS = yaml.safe_load(
    (
        Path(__file__).resolve().parents[2]
        / "conf/base/parameters_feature_engineering.yml"
    ).read_text(encoding="utf-8")
)["feature_engineering"]
KEY_COLUMNS = tuple(_FEATURE_PARAMS["key_feature_columns"])
NOT_FEATURES = {*KEYS, "label", "is_labelled"}

CON = connect("duckdb", {"threads": 1})
SCHEMAS = {name: ibis.schema(columns) for name, columns in COLUMNS.items()}
_PREFIX = "leakage_"

# The as-of days (from strategies.ORIGIN): 2024-02-29 and 2024-06-30.
LEAP_DAY, MONTH_END = 151, 273


@dataclass(frozen=True)
class AsOf:
    """The as-of days of one ``model_input`` call and its label settings."""

    days: tuple[int, ...]
    horizon_days: int = 30
    observation_end_day: int = strategies.LAST_DAY

    @property
    def dates(self) -> list[pd.Timestamp]:
        return [day_start(d) for d in self.days]

    @property
    def observation_end(self) -> pd.Timestamp:
        return day_start(self.observation_end_day)

    def hot_days(self, *, windows: bool = True) -> tuple[int, ...]:
        """Days drawn most often: around each as-of day, its horizon's end and
        (with ``windows``) its look-back windows' start."""
        edges = {0, 1, self.horizon_days, self.horizon_days + 1}
        if windows:
            edges |= {-1, 2, *(-w for w in (6, 7, 29, 30, 59, 60, 89, 90))}
        return tuple(sorted({d + e for d in self.days for e in edges}))


# Several as-of days at once, labelled and not, one on the observation end's
# boundary (t + horizon == observation end).
MULTI = {
    MONTH_END: AsOf(
        (MONTH_END - 61, MONTH_END - 30, MONTH_END, MONTH_END + 1, MONTH_END + 29),
        horizon_days=30,
        observation_end_day=MONTH_END + 30,
    ),
    LEAP_DAY: AsOf(
        (LEAP_DAY - 31, LEAP_DAY - 1, LEAP_DAY, LEAP_DAY + 7, LEAP_DAY + 8),
        horizon_days=7,
        observation_end_day=LEAP_DAY + 14,
    ),
}


@functools.cache
def _view(as_of: AsOf) -> str:
    """A view of ``model_input`` at ``as_of`` over the tables named ``leakage_*``."""
    tables = {
        name: ibis.table(schema, name=_PREFIX + name)
        for name, schema in SCHEMAS.items()
    }
    expr = model_input(
        tables,
        as_of.dates,
        horizon_days=as_of.horizon_days,
        observation_end=as_of.observation_end,
        key_columns=KEY_COLUMNS,
        usage_start=day_start(USAGE_START_DAY),
    )
    # The as-of dates are in-memory tables inside the expression: register
    # them once (``_EXPRESSIONS`` keeps them alive) and compile once; a view
    # also spares DuckDB parsing the SQL again on every run.
    CON._register_in_memory_tables(expr)
    _register(strategies.frames({name: [] for name in COLUMNS}))
    view = f"{_PREFIX}model_input_{len(_EXPRESSIONS)}"
    _EXPRESSIONS[view] = expr
    CON.con.execute(f"CREATE TEMP VIEW {view} AS {CON.compile(expr)}")
    return view


_EXPRESSIONS: dict[str, ibis.Table] = {}


def _register(world: World) -> None:
    for name, frame in world.items():
        data = pa.Table.from_pandas(
            frame, schema=SCHEMAS[name].to_pyarrow(), preserve_index=False
        )
        CON.con.register(_PREFIX + name, data)


def features(world: World, as_of: AsOf) -> pd.DataFrame:
    """``model_input`` of ``world`` at ``as_of``, ordered by account and date."""
    view = _view(as_of)
    _register(world)
    return CON.con.sql(f"SELECT * FROM {view} ORDER BY {', '.join(KEYS)}").df()


def _rows_at(frame: pd.DataFrame, day: int) -> pd.DataFrame:
    rows = frame[frame["as_of_date"] == day_start(day)]
    columns = [c for c in frame.columns if c not in NOT_FEATURES]
    return rows[["account_id", *columns]].reset_index(drop=True)


def assert_same_rows(expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    """Same spine rows with the same feature values.

    Floats get a relative tolerance of 1e-12: a mean over the same records may
    be summed in another order; any leaked record moves a count by 1 or a day
    count by a day.
    """
    assert list(actual["account_id"]) == list(expected["account_id"])
    pd.testing.assert_frame_equal(
        actual, expected, check_exact=False, rtol=1e-12, atol=1e-12
    )


def _note(label: str, world: World) -> None:
    """Print a failing example's tables in full (Hypothesis shows notes then)."""
    for name, frame in world.items():
        if len(frame):
            note(f"{label} {name}:\n{frame.to_string()}")


# ------------------------------------------------------- the data is valid
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds=strategies.split_worlds(MONTH_END, MULTI[MONTH_END].hot_days()))
def test_generated_tables_keep_the_data_contract(worlds: list[World]) -> None:
    # Validation is slow (~0.3 s a world), so only a few: the strategies are
    # built to keep the contract (checked on 400 worlds while writing them).
    for world in worlds:
        accounts = validate_table(
            "accounts", world["accounts"], allowed_values=ALLOWED, mode="strict"
        ).accepted
        for name in COLUMNS.keys() - {"accounts"}:
            result = validate_table(
                name,
                world[name],
                allowed_values=ALLOWED,
                usage_columns=USAGE_COLUMNS,
                accounts=accounts,
                mode="strict",
            )
            assert len(result.accepted) == len(world[name])


# -------------------------------------------------------------- future records
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_records_after_the_as_of_date_do_not_change_it(data: st.DataObject) -> None:
    t = data.draw(st.sampled_from([MONTH_END, LEAP_DAY]), label="t")
    single = AsOf((t,))
    world, other = data.draw(
        strategies.split_worlds(t, MULTI[t].hot_days()), label="worlds"
    )
    # The other future, computed alone or next to other as-of dates.
    along = data.draw(st.sampled_from([single, MULTI[t]]), label="as_of")

    _note("world", world)
    _note("other", other)

    expected = _rows_at(features(world, single), t)
    actual = _rows_at(features(other, along), t)

    assert_same_rows(expected, actual)


# -------------------------------------------------------------------- oracles
def _day(moment: pd.Timestamp) -> int:
    return (moment.normalize() - strategies.ORIGIN).days


def oracle(world: World, as_of: AsOf) -> pd.DataFrame:
    """Spine and label by hand: plain loops over the raw records."""
    events = [
        (e.account_id, _day(e.event_date), e.event_type)
        for e in world["subscription_events"].itertuples()
    ]
    rows = []
    for t in sorted(as_of.days):
        for account in world["accounts"].itertuples():
            if _day(account.signup_date) > t:
                continue
            mine = [(day, kind) for a, day, kind in events if a == account.account_id]
            flips = sum(
                1 for day, kind in mine if kind in LIFECYCLE_EVENTS and day <= t
            )
            if flips % 2 == 1:
                continue
            is_labelled = t + as_of.horizon_days <= as_of.observation_end_day
            churns = any(
                kind == CANCELLATION and t < day <= t + as_of.horizon_days
                for day, kind in mine
            )
            label = float(churns) if is_labelled else math.nan
            rows.append((account.account_id, day_start(t), label, is_labelled))
    expected = pd.DataFrame(rows, columns=[*KEYS, "label", "is_labelled"])
    return expected.sort_values(KEYS, ignore_index=True)


def _keys(frame: pd.DataFrame) -> list[tuple[str, pd.Timestamp]]:
    return list(zip(frame["account_id"], frame["as_of_date"], strict=True))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_snapshots_and_labels_match_a_hand_written_oracle(
    data: st.DataObject,
) -> None:
    as_of = data.draw(st.sampled_from(list(MULTI.values())), label="as_of")
    world = data.draw(strategies.worlds(as_of.hot_days(windows=False)), label="world")

    _note("world", world)

    actual = features(world, as_of)
    expected = oracle(world, as_of)

    assert not actual.duplicated(KEYS).any(), "one row per account and date"
    assert _keys(actual) == _keys(expected), "active accounts per as-of date"
    assert list(actual["is_labelled"]) == list(expected["is_labelled"])
    labelled = expected["is_labelled"].to_numpy()
    assert list(actual["label"][labelled]) == list(expected["label"][labelled])
    assert actual["label"][~labelled].isna().all(), "no label past the data"


def test_oracle_and_features_on_hand_made_edges() -> None:
    """The day rule at each edge, for the oracle and for ``model_input`` alike."""
    t, h = MONTH_END, 30
    hour = pd.Timedelta(hours=1)
    # account: (signup day, [(event moment, type)], expected label or None
    # when the account is not in the snapshot at t).
    cases = {
        "A0": (0, [(day_start(t + 1) + 23 * hour, CANCELLATION)], 1.0),
        "A1": (0, [(day_start(t) + 23 * hour, CANCELLATION)], None),
        "A2": (
            0,
            [
                (day_start(t - 5), CANCELLATION),
                (day_start(t) + 23 * hour, REACTIVATION),
            ],
            0.0,
        ),
        "A3": (t + 1, [], None),
        "A4": (t, [], 0.0),
        "A5": (0, [(day_start(t + h) + 23 * hour, CANCELLATION)], 1.0),
        "A6": (0, [(day_start(t + h + 1), CANCELLATION)], 0.0),
        "A7": (
            0,
            [
                (day_start(t - 3), CANCELLATION),
                (day_start(t + 1), REACTIVATION),
                (day_start(t + 2), CANCELLATION),
            ],
            None,
        ),
    }
    rows: strategies.Rows = {name: [] for name in COLUMNS}
    for account_id, (signup, history, _) in cases.items():
        rows["accounts"].append(
            {
                "account_id": account_id,
                "signup_date": day_start(signup),
                "plan": "pro",
                "seats": 1,
                "mrr": 10.0,
                "billing_cycle": "monthly",
                "industry": "other",
                "country": "US",
                "acquisition_channel": "organic",
                "discount_pct": 0.0,
            }
        )
        for j, (moment, kind) in enumerate(history):
            cancels = kind == CANCELLATION
            rows["subscription_events"].append(
                {
                    "event_id": f"E{account_id}{j}",
                    "account_id": account_id,
                    "event_date": moment,
                    "event_type": kind,
                    "plan": "pro",
                    "seats": 1,
                    "mrr": 0.0 if cancels else 10.0,
                    "churn_type": "voluntary" if cancels else None,
                    "reason": "pricing" if cancels else None,
                }
            )
    world = strategies.frames(rows)
    as_of = AsOf((t,), horizon_days=h)
    active = {a: label for a, (_, _, label) in cases.items() if label is not None}
    expected = pd.DataFrame(
        {
            "account_id": list(active),
            "as_of_date": day_start(t),
            "label": list(active.values()),
            "is_labelled": True,
        }
    )

    pd.testing.assert_frame_equal(oracle(world, as_of), expected)
    actual = features(world, as_of)[expected.columns]
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)
