"""The demo_data pipeline (opt-in: ``kedro run --pipelines demo_data``)."""

from kedro.pipeline import Node, Pipeline

from churn_pipeline.pipelines.demo_data.nodes import (
    RAW_TABLE_NAMES,
    generate_raw_tables,
)


def create_pipeline(**kwargs: object) -> Pipeline:
    """Create the demo_data pipeline."""
    return Pipeline(
        [
            Node(
                func=generate_raw_tables,
                inputs="params:demo_data",
                outputs=[f"raw_{name}" for name in RAW_TABLE_NAMES],
                name="generate_raw_tables_node",
            ),
        ]
    )
