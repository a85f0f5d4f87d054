"""The serving A/B's settings, round order and comparison."""

from __future__ import annotations

import pytest
from benchmarks.ab_serving import (
    compare,
    parse_setting,
    parse_variant,
    round_order,
    run_summary,
    versus,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("CHURN_BATCH_WAIT_TURNS=0", {"CHURN_BATCH_WAIT_TURNS": "0"}),
        (" A=1 , B=x=y ", {"A": "1", "B": "x=y"}),
        ("A=", {"A": ""}),
    ],
)
def test_settings_read_as_environment_variables(text, expected):
    assert parse_setting(text) == expected


@pytest.mark.parametrize("text", ["A", "=1", "A=1,B"])
def test_malformed_settings_are_refused(text):
    with pytest.raises(ValueError, match="must read NAME=value"):
        parse_setting(text)


def test_the_order_flips_every_round():
    assert [round_order(i) for i in range(3)] == [("a", "b"), ("b", "a"), ("a", "b")]


def test_with_more_variants_each_runs_in_each_position_in_turn():
    labels = ("base", "x", "y")
    orders = [round_order(i, labels) for i in range(3)]
    assert orders == [("base", "x", "y"), ("x", "y", "base"), ("y", "base", "x")]
    for position in range(3):
        assert {order[position] for order in orders} == set(labels)


def test_variants_read_as_a_name_and_a_setting():
    assert parse_variant("default=") == ("default", {})
    assert parse_variant("bento=service=m:C,CHURN_WORKERS=1") == (
        "bento",
        {"service": "m:C", "CHURN_WORKERS": "1"},
    )
    with pytest.raises(ValueError, match="must read name=SETTING"):
        parse_variant("=A=1")


def test_a_run_is_summarised_with_server_cpu_per_answered_request():
    run = {
        "p50_ms": 4.0,
        "requests": 100,
        "requests_per_s": 50.0,
        "warmup_requests": 25,
    }

    summary = run_summary(run, server_cpu_s=0.25)

    assert summary["server_cpu_ms_per_request"] == 2.0  # 0.25 s over 125 answers
    assert summary["requests_per_s"] == 50.0
    assert summary["p50_ms"] == 4.0
    assert run_summary({"requests": 0}, 1.0)["server_cpu_ms_per_request"] is None


def _run(p99: float, rps: float) -> dict[str, float]:
    return {
        "p50_ms": p99 / 2,
        "p99_ms": p99,
        "p999_ms": p99 * 2,
        "max_ms": p99 * 3,
        "requests_per_s": rps,
        "server_cpu_ms_per_request": 2000 / rps,
    }


def test_comparison_counts_wins_in_each_direction():
    rounds = {
        "a": [_run(18, 900), _run(25, 600), _run(20, 800)],
        "b": [_run(22, 700), _run(20, 700), _run(24, 650)],
    }

    result = compare(rounds)

    assert result["rounds"] == 3
    # Lower latency and CPU win, higher throughput wins.
    assert result["a_wins"] == {
        "p50_ms": 2,
        "p99_ms": 2,
        "p999_ms": 2,
        "max_ms": 2,
        "requests_per_s": 2,
        "server_cpu_ms_per_request": 2,
    }
    assert result["medians"]["a"]["requests_per_s"] == 800
    assert result["a_over_b"]["p99_ms"] == round(20 / 22, 3)
    assert result["slowest_ms"] == {"a": 75, "b": 72}  # 3 x the worst p99


def test_comparison_needs_the_same_number_of_rounds():
    with pytest.raises(ValueError, match="shorter"):
        compare({"a": [_run(1, 1)], "b": []})


def test_a_variant_worse_in_nearly_every_round_matters():
    baseline = [_run(20, 800), _run(22, 760), _run(21, 790), _run(19, 820)]
    # p99 30-40 % higher in every round; throughput within 1 % either way.
    variant = [_run(27, 805), _run(30, 755), _run(28, 790), _run(25, 815)]

    result = versus(variant, baseline)

    assert result["worse"] == ["p99_ms"]
    assert result["better"] == []
    assert result["round_ratios"]["p99_ms"]["low"] == round(25 / 19, 3)
    assert result["round_ratios"]["requests_per_s"]["median"] == pytest.approx(
        1, abs=0.01
    )


def test_a_variant_that_wins_only_some_rounds_does_not_matter():
    baseline = [_run(20, 800), _run(20, 800), _run(20, 800), _run(20, 800)]
    # Much faster in half the rounds, slower in the other half.
    variant = [_run(12, 800), _run(12, 800), _run(24, 800), _run(24, 800)]

    result = versus(variant, baseline)

    assert result["worse"] == []
    assert result["better"] == []
