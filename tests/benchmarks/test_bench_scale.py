"""The whole-run benchmark: stages from node profiles, targets, the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest
from benchmarks.bench_scale import main, parse_sizes, parser
from benchmarks.scale_result import (
    UNASSIGNED,
    evaluate_targets,
    summarise_profile,
    summary_table,
)
from benchmarks.scale_run import copy_project, run_measured


def _node(name: str, stage: str | None, wall: float, peak: float, status="completed"):
    return {
        "name": name,
        "stage": stage,
        "status": status,
        "wall_s": wall,
        "cpu_s": wall,
        "peak_rss_mb": peak,
    }


PROFILE = {
    "status": "completed",
    "nodes": [
        _node("validate_usage_node", "data_validation", 10.0, 900.0),
        _node("build_usage_features_node", "feature_engineering", 20.0, 1200.0),
        _node("tune_hyperparameters_node", "model_training", 40.0, 700.0),
        _node("backtest_ensemble_node", "model_evaluation", 50.0, 800.0),
        _node("explain_scores_node", "explanation", 5.0, 600.0),
        _node("score_on_spark_node", "spark_scoring", 3.0, 500.0),
        _node("orphan_node", None, 2.0, 400.0),
    ],
}


def _entry(wall: float, data: float, model: float, peak: float, status="completed"):
    groups = {"data_work": {"wall_s": data}, "model_work": {"wall_s": model}}
    return {"status": status, "wall_s": wall, "peak_rss_mb": peak, "groups": groups}


def test_nodes_grouped_into_data_model_and_other_work():
    summary = summarise_profile(PROFILE)

    groups = summary["groups"]
    assert groups["data_work"] == {
        "wall_s": 30.0,
        "peak_rss_mb": 1200.0,
        "nodes": 2,
        "stages": ["data_validation", "feature_engineering"],
    }
    assert groups["model_work"]["wall_s"] == 90.0
    assert groups["other"]["wall_s"] == 5.0
    assert summary["stages"]["model_evaluation"]["peak_rss_mb"] == 800.0
    assert summary["nodes"]["tune_hyperparameters_node"]["group"] == "model_work"


def test_nodes_in_no_known_group_are_reported_with_their_time():
    summary = summarise_profile(PROFILE)

    assert summary["unassigned"] == ["score_on_spark_node", "orphan_node"]
    assert summary["groups"][UNASSIGNED]["wall_s"] == 5.0
    assert summary["groups"][UNASSIGNED]["stages"] == ["spark_scoring", UNASSIGNED]
    walls = sum(group["wall_s"] for group in summary["groups"].values())
    assert walls == sum(node["wall_s"] for node in PROFILE["nodes"])


def test_a_killed_run_names_the_node_it_was_in():
    running = {**_node("backtest_ensemble_node", "model_evaluation", 0, 0)}
    running.update(status="running", wall_s=None, peak_rss_mb=None)
    profile = {"status": "running", "nodes": [*PROFILE["nodes"][:3], running]}

    summary = summarise_profile(profile)

    assert (summary["last_node"], summary["last_stage"]) == (
        "backtest_ensemble_node",
        "model_evaluation",
    )
    assert summary["failed_nodes"] == ["backtest_ensemble_node"]
    assert summary["groups"]["model_work"]["wall_s"] == 40.0
    assert summarise_profile({})["groups"]["data_work"]["nodes"] == 0


@pytest.mark.parametrize(
    ("sizes", "expected"),
    [
        (
            {
                "100000": _entry(600, 100, 250, 3000),
                "1000000": _entry(6000, 1, 1, 7000),
            },
            {
                "peak_rss_mb_1m": (7000, True),
                "wall_ratio_1m_over_100k": (10.0, True),
                "model_over_data_work_100k": (2.5, True),
            },
        ),
        (
            {
                "100000": _entry(600, 100, 800, 3000),
                "1000000": _entry(7800, 1, 1, 9000),
            },
            {
                "peak_rss_mb_1m": (9000, False),
                "wall_ratio_1m_over_100k": (13.0, False),
                "model_over_data_work_100k": (8.0, False),
            },
        ),
        (
            {"10000": _entry(60, 10, 40, 900)},
            {
                "peak_rss_mb_1m": (None, None),
                "wall_ratio_1m_over_100k": (None, None),
                "model_over_data_work_100k": (None, None),
            },
        ),
        (
            {
                "100000": _entry(600, 100, 300, 3000),
                "1000000": _entry(900, 1, 1, 8200, status="failed"),
            },
            {
                "peak_rss_mb_1m": (None, False),
                "wall_ratio_1m_over_100k": (None, False),
                "model_over_data_work_100k": (3.0, True),
            },
        ),
    ],
    ids=["all-met", "all-missed", "sizes-not-run", "1m-failed"],
)
def test_targets(sizes, expected):
    targets = evaluate_targets(sizes)

    got = {name: (t["measured"], t["met"]) for name, t in targets.items()}
    assert got == expected


def test_summary_table_lists_sizes_and_targets():
    entry = {
        **_entry(600, 100, 250, 3000),
        "raw_rows": {"usage": 12345},
        **summarise_profile(PROFILE),
    }
    result = {"sizes": {"100000": entry}, "targets": evaluate_targets({})}

    table = summary_table(result)

    assert "| 100,000 | completed | 12,345 | 600 | 30 | 90 | 5 | 3,000 |" in table
    assert "build_usage_features_node (1,200)" in table
    assert "| peak_rss_mb_1m | n/a | < 8192 | None |" in table


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10000", [10_000]), ("1_000_000, 10000,100000", [10_000, 100_000, 1_000_000])],
)
def test_sizes_parsed_ascending(text, expected):
    assert parse_sizes(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one account count"),
        ("10000,1e5", r"'1e5' is not a whole number"),
        ("10000,-5", r"'-5' is not a whole number"),
        ("500", "500 accounts is below the minimum 1000"),
        ("10000,10_000", r"\[10000\] given more than once"),
    ],
)
def test_bad_sizes_refused_naming_the_value(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_sizes(text)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sizes", "abc"], "'abc' is not a whole number"),
        (["--timeout", "0"], "argument --timeout: must be above 0 s, got 0"),
    ],
)
def test_command_line_refuses(argv, message, capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(argv)

    assert message in capsys.readouterr().err


def test_sizes_default_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BENCH_SCALE_SIZES", "30000,10000")

    assert parser().parse_args([]).sizes == [10_000, 30_000]


def test_copy_holds_code_and_config_without_data_or_environments(tmp_path: Path):
    source = tmp_path / "project"
    for path in (
        "src/pkg/mod.py",
        "conf/base/catalog.yml",
        "data/01_raw/.gitkeep",
        "data/01_raw/usage.parquet",
        "data/06_models/feature_repo/registry.db",
        ".venv/bin/python",
        "mlflow.db",
        "benchmarks/data/demo_10/usage.parquet",
        "benchmarks/bench_x.py",
    ):
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_text("x")

    copy = copy_project(source, tmp_path / "copy")

    kept = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file())
    assert kept == [
        "benchmarks/bench_x.py",
        "conf/base/catalog.yml",
        "data/01_raw/.gitkeep",
        "src/pkg/mod.py",
    ]
    assert (copy / "data/06_models/feature_repo").is_dir()


def test_copy_into_a_work_dir_inside_the_project_leaves_itself_out(tmp_path: Path):
    source = tmp_path / "project"
    for path in ("src/pkg/mod.py", "data/01_raw/.gitkeep"):
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_text("x")
    destination = source / "data" / "scale" / "run_10"
    destination.mkdir(parents=True)
    (destination / "stale.py").write_text("x")

    copy = copy_project(source, destination)

    kept = sorted(str(p.relative_to(copy)) for p in copy.rglob("*") if p.is_file())
    assert kept == ["data/01_raw/.gitkeep", "src/pkg/mod.py"]
    assert not (copy / "data" / "scale" / "run_10").exists()


ALLOCATE = "import numpy as np; a = np.ones(300 * 2**20 // 8); print(a.sum())"


def test_run_measured_reports_a_child_peak_and_its_exit(tmp_path: Path):
    done = run_measured(
        [sys.executable, "-c", ALLOCATE],
        cwd=tmp_path,
        log=tmp_path / "a.log",
        timeout_s=300,
    )
    failed = run_measured(
        [sys.executable, "-c", "raise SystemExit('table usage: 3 rows rejected')"],
        cwd=tmp_path,
        log=tmp_path / "b.log",
        timeout_s=300,
    )

    assert (done["outcome"], done["returncode"]) == ("completed", 0)
    assert done["kernel_peak_rss_mb"] >= 300
    assert done["peak_rss_mb"] >= done["kernel_peak_rss_mb"]
    assert done["log_tail"] == [str(float(300 * 2**20 // 8))]
    assert (failed["outcome"], failed["returncode"]) == ("failed", 1)
    assert failed["log_tail"] == ["table usage: 3 rows rejected"]


def test_run_measured_kills_a_run_past_its_timeout(tmp_path: Path):
    never_ends = [sys.executable, "-c", "import signal; signal.pause()"]

    done = run_measured(never_ends, cwd=tmp_path, log=tmp_path / "c.log", timeout_s=1)

    assert done["outcome"] == "timed out"
    assert done["returncode"] == -9


def test_a_size_that_cannot_start_is_recorded_failed_and_the_rest_written(
    tmp_path: Path,
):
    work_dir = tmp_path / "not_a_directory"
    work_dir.write_text("x")
    output = tmp_path / "scale.json"

    code = main(
        ["--sizes", "2000,1000", "--work-dir", str(work_dir), "--output", str(output)]
    )

    result = json.loads(output.read_text())
    assert code == 1
    assert list(result["sizes"]) == ["1000", "2000"]
    entry = result["sizes"]["1000"]
    assert entry["status"] == "failed"
    assert entry["error"].startswith("before the run: NotADirectoryError")
    assert result["targets"]["peak_rss_mb_1m"]["met"] is None
