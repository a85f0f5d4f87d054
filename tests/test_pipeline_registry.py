import pytest
from kedro.framework.project import configure_project

from churn_pipeline.pipeline_registry import (
    DEFAULT_INPUT_KIND,
    INPUT_KINDS,
    register_pipelines,
    select_input_kind,
)


@pytest.fixture(autouse=True)
def _restore_input_kind():
    configure_project("churn_pipeline")
    yield
    select_input_kind(DEFAULT_INPUT_KIND)


@pytest.mark.parametrize("kind", list(INPUT_KINDS))
def test_default_pipeline_is_the_input_kinds_pipelines(kind):
    select_input_kind(kind)
    pipelines = register_pipelines()
    default_nodes = {node.name for node in pipelines["__default__"].nodes}
    expected = set()
    for name in INPUT_KINDS[kind]:
        expected |= {node.name for node in pipelines[name].nodes}
    assert default_nodes == expected
    assert "generate_raw_tables_node" not in default_nodes


def test_event_history_default_runs_validation_to_scoring():
    select_input_kind("event_history")
    default_nodes = {n.name for n in register_pipelines()["__default__"].nodes}
    assert {
        "validate_accounts_node",
        "score_snapshot_node",
        "score_current_node",
    } <= default_nodes
    assert "cross_validate_node" not in default_nodes


def test_customer_table_default_is_closed_over_its_inputs():
    select_input_kind("customer_table")
    default = register_pipelines()["__default__"]
    assert default.inputs() == {
        "raw_customers",
        "params:customer_table",
        "params:model_training",
        "params:profit",
        "params:model_registry",
        "params:scoring",
    }


def test_subscription_periods_default_reads_only_the_source_tables():
    select_input_kind("subscription_periods")
    default = register_pipelines()["__default__"]
    raw = {name for name in default.inputs() if not name.startswith("params:")}
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


def test_select_reports_a_change_and_rejects_unknown_kinds():
    assert select_input_kind("customer_table") is True
    assert select_input_kind("customer_table") is False
    with pytest.raises(
        ValueError,
        match=r"allowed: \['customer_table', 'event_history', 'subscription_periods'\]",
    ):
        select_input_kind("one_big_csv")
