import pytest
from kedro.framework.project import configure_project, find_pipelines

from churn_pipeline.pipeline_registry import (
    DEFAULT_INPUT_KIND,
    INPUT_KINDS,
    register_pipelines,
)

CUSTOMER_TABLE_OWN_NODES = {
    "prepare_customer_table_node",
    "cross_validate_node",
    "fit_customer_model_node",
    "select_current_customers_node",
    "tune_customer_model_node",
    "log_customer_tuned_params_node",
}


@pytest.fixture(autouse=True)
def _configured_project():
    # Also clears a pipeline filter an in-process `kedro run` may have left.
    configure_project("churn_pipeline")


def _names(pipeline):
    return {node.name for node in pipeline.nodes}


@pytest.mark.parametrize("kind", list(INPUT_KINDS))
def test_each_input_kind_is_a_pipeline_of_its_stages(kind):
    pipelines = register_pipelines()
    stages = find_pipelines(raise_errors=True)
    # A kind's own package (customer_table) adds its nodes to the stages after it.
    expected = {
        node
        for name in INPUT_KINDS[kind]
        for node in (CUSTOMER_TABLE_OWN_NODES if name == kind else _names(stages[name]))
    }
    assert _names(pipelines[kind]) == expected
    assert "generate_raw_tables_node" not in _names(pipelines[kind])


def test_default_is_the_event_history_pipeline():
    pipelines = register_pipelines()
    assert DEFAULT_INPUT_KIND == "event_history"
    assert _names(pipelines["__default__"]) == _names(pipelines["event_history"])


def test_event_history_runs_validation_to_scoring():
    default_nodes = _names(register_pipelines()["event_history"])
    assert {
        "validate_accounts_node",
        "score_snapshot_node",
        "score_current_node",
    } <= default_nodes
    assert "cross_validate_node" not in default_nodes


def test_customer_table_is_closed_over_its_inputs():
    pipeline = register_pipelines()["customer_table"]
    assert pipeline.inputs() == {
        "raw_customers",
        "params:customer_table",
        "params:model_training",
        "params:profit",
        "params:model_registry",
        "params:scoring",
        # The scored list runs where the features do (engine.backend: Spark or not).
        "params:feature_engineering",
    }


def test_subscription_periods_reads_only_the_source_tables():
    pipeline = register_pipelines()["subscription_periods"]
    raw = {name for name in pipeline.inputs() if not name.startswith("params:")}
    # The contract's tables it does not derive are read as exported.
    assert raw == {
        "source_accounts",
        "source_subscriptions",
        "source_churn_events",
        "source_usage_events",
        "raw_tickets",
        "raw_invoices",
        "raw_nps_responses",
        # daily_scoring's model: whoever holds the alias once the run registered.
        "champion",
    }


def test_a_named_kind_loads_without_the_others():
    # What `kedro run --pipelines customer_table` has Kedro load.
    pipelines = find_pipelines(raise_errors=True, pipelines_to_find=["customer_table"])
    assert set(pipelines) == {"customer_table"}
    assert "score_snapshot_node" in _names(pipelines["customer_table"])
