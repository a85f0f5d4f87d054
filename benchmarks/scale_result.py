"""The whole-run benchmark's results: nodes grouped into stages, and its targets.

A run's node profile (``churn_pipeline.runs.profile``) names each node's stage,
the pipeline package holding it; :data:`GROUPS` sorts the stages into the
work the targets compare. A node whose stage is in no group is reported under
``unassigned`` with its time, never dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Stage (pipeline package) -> group. Data work grows with the raw tables,
# model work with the training rows; the rest is per account scored.
GROUPS: dict[str, tuple[str, ...]] = {
    "data_work": ("ingestion", "data_validation", "feature_engineering"),
    "model_work": ("model_training", "model_evaluation"),
    "other": (
        "model_registry",
        "explanation",
        "scoring",
        "reporting",
        "daily_scoring",
    ),
}
UNASSIGNED = "unassigned"
MB_PER_GB = 1024
# name: (comparison, bound), from issue 24.
TARGETS: dict[str, tuple[str, float]] = {
    "peak_rss_mb_1m": ("<", 8 * MB_PER_GB),
    "wall_ratio_1m_over_100k": ("<=", 12.0),
    "model_over_data_work_100k": ("<=", 3.0),
}
TARGET_SIZES = {"small": 100_000, "large": 1_000_000}


def group_of(stage: str | None) -> str:
    """The group a stage belongs to (:data:`UNASSIGNED` if none)."""
    for group, stages in GROUPS.items():
        if stage in stages:
            return group
    return UNASSIGNED


def _total(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    records = list(records)
    walls = [r["wall_s"] for r in records if r.get("wall_s") is not None]
    peaks = [r["peak_rss_mb"] for r in records if r.get("peak_rss_mb") is not None]
    return {
        "wall_s": round(sum(walls), 2),
        "peak_rss_mb": round(max(peaks), 1) if peaks else None,
        "nodes": len(records),
    }


def summarise_profile(profile: Mapping[str, Any]) -> dict[str, Any]:
    """Per node, per stage and per group wall time and peak RSS of one run.

    Args:
        profile: The JSON the profiling hook wrote.

    Returns:
        ``groups`` (data work, model work, other, and unassigned when any
        node is in no group), ``stages``, ``nodes``, the ``unassigned`` node
        names, and the ``last_node``/``last_stage`` the run reached.
    """
    records = list(profile.get("nodes", []))
    stages: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        stages.setdefault(record.get("stage") or UNASSIGNED, []).append(record)
    groups: dict[str, list[Mapping[str, Any]]] = {group: [] for group in GROUPS}
    for record in records:
        groups.setdefault(group_of(record.get("stage")), []).append(record)
    last = records[-1] if records else {}
    return {
        "groups": {
            group: {
                **_total(members),
                "stages": sorted({m.get("stage") or UNASSIGNED for m in members}),
            }
            for group, members in groups.items()
        },
        "stages": {stage: _total(members) for stage, members in stages.items()},
        "nodes": {
            r["name"]: {
                "stage": r.get("stage"),
                "group": group_of(r.get("stage")),
                **{
                    key: r.get(key)
                    for key in ("status", "wall_s", "run_s", "cpu_s", "peak_rss_mb")
                },
            }
            for r in records
        },
        "unassigned": [
            r["name"] for r in records if group_of(r.get("stage")) == UNASSIGNED
        ],
        "last_node": last.get("name"),
        "last_stage": last.get("stage"),
        "failed_nodes": [r["name"] for r in records if r.get("status") != "completed"],
    }


def _completed(sizes: Mapping[str, Mapping[str, Any]], accounts: int) -> Any:
    entry = sizes.get(str(accounts))
    return entry if entry and entry.get("status") == "completed" else None


def _measured(sizes: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    small = _completed(sizes, TARGET_SIZES["small"])
    large = _completed(sizes, TARGET_SIZES["large"])
    ratio = None
    if small and large and small["wall_s"]:
        ratio = round(large["wall_s"] / small["wall_s"], 2)
    work = None
    if small:
        groups = small["groups"]
        data = groups["data_work"]["wall_s"]
        work = round(groups["model_work"]["wall_s"] / data, 2) if data else None
    return {
        "peak_rss_mb_1m": large["peak_rss_mb"] if large else None,
        "wall_ratio_1m_over_100k": ratio,
        "model_over_data_work_100k": work,
    }


def evaluate_targets(sizes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Each target with its measured value and ``met``.

    ``met`` is ``None`` when a size it needs was not run, and ``False`` when
    that size ran and failed (a run that did not finish meets no target).

    Args:
        sizes: Per number of accounts (as a string key), its entry.
    """
    measured = _measured(sizes)
    needs = {
        "peak_rss_mb_1m": ("large",),
        "wall_ratio_1m_over_100k": ("small", "large"),
        "model_over_data_work_100k": ("small",),
    }
    out: dict[str, Any] = {}
    for name, (comparison, bound) in TARGETS.items():
        value = measured[name]
        entries = [sizes.get(str(TARGET_SIZES[size])) for size in needs[name]]
        met: bool | None
        if value is not None:
            met = value < bound if comparison == "<" else value <= bound
        elif any(e is not None and e.get("status") != "completed" for e in entries):
            met = False
        else:
            met = None
        out[name] = {"measured": value, "comparison": comparison, "bound": bound}
        out[name]["met"] = met
    return out


def _cell(value: Any, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}" if isinstance(value, int | float) else str(value)


def summary_table(result: Mapping[str, Any]) -> str:
    """The sizes and targets of a scale result, as Markdown."""
    lines = [
        "| accounts | status | usage rows | wall s | data work s | model work s "
        "| other s | peak RSS MB | heaviest node (peak MB) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key in sorted(result["sizes"], key=int):
        entry = result["sizes"][key]
        groups = entry.get("groups", {})
        nodes = entry.get("nodes", {})
        heavy = ""
        if nodes:
            name, node = max(nodes.items(), key=lambda n: n[1]["peak_rss_mb"] or 0.0)
            heavy = f"{name} ({_cell(node['peak_rss_mb'])})"
        walls = [_cell(groups.get(g, {}).get("wall_s")) for g in GROUPS]
        lines.append(
            f"| {int(key):,} | {entry['status']} | "
            f"{_cell(entry.get('raw_rows', {}).get('usage'))} | "
            f"{_cell(entry.get('wall_s'))} | {' | '.join(walls)} | "
            f"{_cell(entry.get('peak_rss_mb'))} | {heavy} |"
        )
    lines += ["", "| target | measured | bound | met |", "|---|---:|---:|---|"]
    for name, target in result["targets"].items():
        lines.append(
            f"| {name} | {_cell(target['measured'], 2)} | "
            f"{target['comparison']} {target['bound']:g} | {target['met']} |"
        )
    return "\n".join(lines)
