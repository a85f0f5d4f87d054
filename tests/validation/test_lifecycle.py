import numpy as np
import pandas as pd
import pytest

from churn_pipeline.validation.lifecycle import cancelled_at, out_of_sequence


def _events(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["account_id", "event_date", "event_type"]
    ).astype({"event_date": "datetime64[ns]"})


@pytest.mark.parametrize(
    ("types", "flagged"),
    [
        (["cancellation", "reactivation", "cancellation"], [False, False, False]),
        (["cancellation", "cancellation", "reactivation"], [False, True, False]),
        (["reactivation", "cancellation"], [True, False]),
        (["upgrade", "cancellation", "reactivation", "reactivation"], [0, 0, 0, 1]),
    ],
)
def test_out_of_sequence_keeps_the_first_consistent_reading(types, flagged):
    days = [f"2024-01-{d:02d}" for d in range(1, len(types) + 1)]
    events = _events([("A", day, kind) for day, kind in zip(days, types, strict=True)])
    assert out_of_sequence(events).tolist() == [bool(f) for f in flagged]


def test_accounts_are_independent():
    events = _events(
        [("A", "2024-01-01", "cancellation"), ("B", "2024-01-02", "cancellation")]
    )
    assert not out_of_sequence(events).any()


def test_cancelled_at_follows_the_latest_event():
    events = _events(
        [
            ("A", "2024-01-10", "cancellation"),
            ("A", "2024-02-10", "reactivation"),
            ("B", "2024-01-05", "upgrade"),
        ]
    )
    accounts = pd.Series(["A", "A", "A", "A", "B", "C"])
    dates = pd.Series(
        pd.to_datetime(
            [
                "2024-01-09",
                "2024-01-10",
                "2024-01-20",
                "2024-02-10",
                "2024-03-01",
                "2024-03-01",
            ]
        )
    )
    inclusive = cancelled_at(events, accounts, dates, inclusive=True)
    np.testing.assert_array_equal(inclusive, [False, True, True, False, False, False])
    exclusive = cancelled_at(events, accounts, dates, inclusive=False)
    np.testing.assert_array_equal(exclusive, [False, False, True, True, False, False])
