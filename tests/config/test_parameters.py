"""Every parameters file checked against its model, with file, key and rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from kedro.config import OmegaConfigLoader

from churn_pipeline.config import (
    ParameterError,
    ParameterSources,
    check_input_kind,
    validate_parameters,
)
from churn_pipeline.settings import CONFIG_LOADER_ARGS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ENVS = sorted(p.name for p in (PROJECT_ROOT / "conf").iterdir() if p.is_dir())


def _load(conf: Path, env: str | None = None, runtime: dict | None = None):
    loader = OmegaConfigLoader(
        str(conf), env=env, runtime_params=runtime, **CONFIG_LOADER_ARGS
    )
    sources = ParameterSources.from_loader(loader, conf.parent)
    return loader["parameters"], sources


def _problems(conf: Path, env: str | None = None, runtime: dict | None = None):
    params, sources = _load(conf, env, runtime)
    with pytest.raises(ParameterError) as error:
        validate_parameters(params, sources)
    return error.value


@pytest.fixture
def conf(tmp_path) -> Path:
    shutil.copytree(PROJECT_ROOT / "conf", tmp_path / "conf")
    return tmp_path / "conf"


def _edit(path: Path, edit) -> None:
    content = yaml.safe_load(path.read_text())
    edit(content)
    path.write_text(yaml.safe_dump(content))


@pytest.mark.parametrize("env", ENVS)
def test_the_projects_parameters_are_valid_in_every_environment(env):
    # A key added to a yml without a model field (extra="forbid") fails here.
    params, sources = _load(PROJECT_ROOT / "conf", env)
    validated = validate_parameters(params, sources)
    assert validated.model_dump(mode="json").keys() == params.keys()


def test_misspelled_key_on_the_command_line_names_params_and_allowed_keys():
    error = _problems(
        PROJECT_ROOT / "conf", runtime={"data_validation": {"mdoe": "quarantine"}}
    )
    assert error.problems == (
        (
            "--params",
            "data_validation.mdoe",
            "unknown key; allowed keys: ['allowed_values', 'engine', 'mappings', "
            "'max_date', 'mode', 'usage_columns']",
        ),
    )


def test_misspelled_key_in_a_file_names_that_file(conf):
    _edit(
        conf / "base/parameters_data_validation.yml",
        lambda c: c["data_validation"].update(mdoe="quarantine"),
    )
    error = _problems(conf)
    assert [(s, k) for s, k, _ in error.problems] == [
        ("conf/base/parameters_data_validation.yml", "data_validation.mdoe")
    ]
    assert "conf/base/parameters_data_validation.yml: data_validation.mdoe" in str(
        error
    )


def test_unknown_mode_lists_the_modes(conf):
    _edit(
        conf / "ravenstack/parameters_data_validation.yml",
        lambda c: c["data_validation"].update(mode="lenient"),
    )
    error = _problems(conf, "ravenstack")
    assert error.problems == (
        (
            "conf/ravenstack/parameters_data_validation.yml",
            "data_validation.mode",
            "must be one of ['strict', 'quarantine'], got 'lenient'",
        ),
    )


def test_negative_horizon_fails_in_every_block_that_reads_it(conf):
    (conf / "base/globals.yml").write_text(
        (conf / "base/globals.yml")
        .read_text()
        .replace("horizon_days: 30", "horizon_days: -30")
    )
    error = _problems(conf)
    assert sorted(error.problems) == [
        (
            "conf/base/parameters_feature_engineering.yml",
            "feature_engineering.horizon_days",
            "Input should be greater than 0, got -30",
        ),
        (
            "conf/base/parameters_model_training.yml",
            "model_training.horizon_days",
            "Input should be greater than 0, got -30",
        ),
        (
            "conf/base/parameters_scoring.yml",
            "scoring.value.horizon_days",
            "Input should be greater than 0, got -30",
        ),
    ]


def test_negative_horizon_on_the_command_line():
    error = _problems(
        PROJECT_ROOT / "conf", runtime={"feature_engineering": {"horizon_days": -30}}
    )
    assert error.problems == (
        (
            "--params",
            "feature_engineering.horizon_days",
            "Input should be greater than 0, got -30",
        ),
    )


def test_unknown_ensemble_member_lists_the_members(conf):
    _edit(
        conf / "base/parameters_model_training.yml",
        lambda c: c["model_training"]["members"].update(catboost={"depth": 4}),
    )
    error = _problems(conf)
    assert error.problems == (
        (
            "conf/base/parameters_model_training.yml",
            "model_training.members.catboost",
            "must be one of ['xgboost', 'lightgbm', 'logistic_regression'], "
            "got 'catboost'",
        ),
    )


@pytest.mark.parametrize(
    ("runtime", "key", "rule"),
    [
        (
            {"profit": {"accept_rate": 1.5}},
            "profit.accept_rate",
            "less than or equal to 1",
        ),
        ({"input_kind": "one_big_csv"}, "input_kind", "'customer_table'"),
        (
            {"scoring": {"value": {"basis": "lifetime"}}},
            "scoring.value.basis",
            "'per_account'",
        ),
        (
            {"scoring": {"risk_bands": {"yellow_from": 0.5, "red_from": 0.2}}},
            "scoring.risk_bands",
            "0 < yellow_from < red_from < 1",
        ),
        (
            {
                "model_training": {
                    "tuning": {
                        "search_space": {
                            "xgboost": {
                                "max_depth": {"type": "int", "low": 6, "high": 2}
                            }
                        }
                    }
                }
            },
            "model_training.tuning.search_space.xgboost.max_depth",
            "must not exceed high",
        ),
        (
            {"model_training": {"class_weight": "heavy"}},
            "model_training.class_weight",
            "'balanced'",
        ),
        (
            {"ingestion": {"usage_aggregations": {"logins": {"op": "mean"}}}},
            "ingestion.usage_aggregations.logins.op",
            "'nunique'",
        ),
        (
            {"feature_engineering": {"engine": {"backend": "polars"}}},
            "feature_engineering.engine.backend",
            "'pyspark'",
        ),
        ({"demo_data": {"n_accounts": 0}}, "demo_data", "n_accounts must be in"),
        (
            {
                "scoring": {
                    "playbook": {"actions": {"weather": {"action": "a", "owner": "o"}}}
                }
            },
            "scoring.playbook",
            "unknown: ['weather']",
        ),
    ],
)
def test_bounds_and_choices(runtime, key, rule):
    error = _problems(PROJECT_ROOT / "conf", runtime=runtime)
    matching = [p for p in error.problems if p[1] == key]
    assert matching, error.problems
    assert rule in matching[0][2]


def test_params_replacing_an_env_block_say_so():
    # With an environment that has parameters files, Kedro merges --params into
    # them, and the environment replaces base's whole block.
    error = _problems(
        PROJECT_ROOT / "conf",
        "telco",
        runtime={"data_validation": {"mode": "quarantine"}},
    )
    sources = {source for source, _, _ in error.problems}
    assert sources == {
        "--params (with --env telco, Kedro takes the whole `data_validation` "
        "block from --params: give all its keys there)"
    }


def test_telco_default_pipeline_is_refused_with_the_command_to_run():
    params, sources = _load(PROJECT_ROOT / "conf", "telco")
    with pytest.raises(ValueError) as refused:
        check_input_kind(
            params["input_kind"],
            None,
            env="telco",
            source=sources.source_of(("input_kind",)),
        )
    assert str(refused.value).startswith(
        "conf/telco/parameters.yml sets input_kind: customer_table"
    )
    assert "run `kedro run --env telco --pipelines customer_table`" in str(
        refused.value
    )


@pytest.mark.parametrize(
    ("kind", "pipelines"),
    [
        ("customer_table", ["customer_table"]),
        ("event_history", None),
        ("event_history", ["__default__"]),
        ("subscription_periods", ["subscription_periods"]),
        # A single stage is not a kind's pipeline: the user chose it.
        ("subscription_periods", ["data_validation"]),
    ],
)
def test_matching_pipelines_pass(kind, pipelines):
    check_input_kind(kind, pipelines, env=None, source="conf/base/parameters.yml")


def test_other_kinds_pipeline_is_refused():
    with pytest.raises(ValueError, match=r"--pipelines subscription_periods`"):
        check_input_kind(
            "subscription_periods",
            ["event_history"],
            env="ravenstack",
            source="conf/ravenstack/parameters.yml",
        )


@pytest.mark.parametrize("delay", [0, 29])
def test_churn_from_gaps_needs_the_label_delay(delay):
    # The documented RavenStack gap run, without (or with too short) a delay.
    runtime = {
        "ingestion": {"churn": {"source": "gap", "gap_days": 30}},
        "feature_engineering": {"label_delay_days": delay},
    }
    error = _problems(PROJECT_ROOT / "conf", "ravenstack", runtime=runtime)
    assert error.problems == (
        (
            "--params",
            "feature_engineering.label_delay_days",
            f"is {delay}, but churn comes from gaps of ingestion.churn.gap_days=30: "
            "a churn is known only that many days after the subscription ends, so "
            "the newest labels would miss churners; set label_delay_days to at "
            "least 30",
        ),
    )
    runtime["feature_engineering"]["label_delay_days"] = 30
    params, sources = _load(PROJECT_ROOT / "conf", "ravenstack", runtime)
    validate_parameters(params, sources)
