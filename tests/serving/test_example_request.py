import json
from pathlib import Path

from churn_pipeline.serving.metadata import example_request
from churn_pipeline.serving.schema import AccountFeatures

EXAMPLE = Path(__file__).resolve().parents[2] / "serving/example_request.json"


def test_example_request_file_matches_the_feature_registry():
    """Regenerate with ``python -m churn_pipeline.serving.metadata``.

    It prints serving/example_request.json.
    """
    assert json.loads(EXAMPLE.read_text()) == example_request()
    for account in example_request()["accounts"]:
        AccountFeatures.model_validate(account)
