from kedro.framework.project import configure_project

from churn_pipeline.pipeline_registry import register_pipelines


def test_default_pipeline_runs_everything_but_the_demo_generator():
    configure_project("churn_pipeline")
    pipelines = register_pipelines()
    default_nodes = {node.name for node in pipelines["__default__"].nodes}
    assert "generate_raw_tables_node" not in default_nodes
    for name, pipeline in pipelines.items():
        if name not in {"__default__", "demo_data"}:
            assert {node.name for node in pipeline.nodes} <= default_nodes
    assert {"validate_accounts_node", "score_snapshot_node"} <= default_nodes
