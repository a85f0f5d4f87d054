"""The NPS summary reads the answers from a file as well as from a frame."""

from __future__ import annotations

import pandas as pd
import pytest

from churn_pipeline.datasets.parquet_table import ParquetTable
from churn_pipeline.pipelines.reporting.nodes import summarise_nps

ANSWERS = pd.DataFrame(
    {
        "response_id": ["N1", "N2", "N3", "N4"],
        "account_id": ["A1", "A2", "A1", "A3"],
        "response_date": pd.to_datetime(
            ["2024-01-05", "2024-03-01", "2024-03-10", "2024-03-20"]
        ),
        "score": [9, 3, 6, 10],
    }
)
SCORING = pd.DataFrame({"as_of_date": [pd.Timestamp("2024-03-15")]})
PARAMS = {"nps_window_days": 30}


def test_a_file_gives_the_summary_of_the_frame(tmp_path):
    path = tmp_path / "nps_responses.parquet"
    ANSWERS.to_parquet(path, index=False)

    from_file = summarise_nps(ParquetTable(str(path)), SCORING, PARAMS)

    expected = summarise_nps(ANSWERS, SCORING, PARAMS)
    pd.testing.assert_frame_equal(from_file, expected)
    # 03-01 and 03-10 fall in the 30 days up to 03-15; 01-05 and 03-20 do not.
    assert from_file.set_index("score")["count"].loc[[3, 6]].tolist() == [1, 1]
    assert from_file["count"].sum() == 2


def test_a_file_without_scores_is_named(tmp_path):
    path = tmp_path / "nps_responses.parquet"
    ANSWERS.drop(columns="score").to_parquet(path, index=False)
    with pytest.raises(ValueError, match=r"nps_responses.*score"):
        summarise_nps(ParquetTable(str(path)), SCORING, PARAMS)
