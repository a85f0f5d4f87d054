import pytest
from kedro.io import DataCatalog, DatasetError


def test_absent_table_loads_none_and_refuses_writes():
    catalog = DataCatalog.from_config(
        {"raw_nps_responses": {"type": "churn_pipeline.datasets.AbsentTableDataset"}}
    )
    assert catalog.load("raw_nps_responses") is None
    assert not catalog.exists("raw_nps_responses")
    with pytest.raises(DatasetError, match="read-only"):
        catalog.save("raw_nps_responses", "anything")
