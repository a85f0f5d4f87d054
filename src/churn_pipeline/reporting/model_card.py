"""A markdown model card: what a registered churn model is and how good it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from churn_pipeline.models import ChurnEnsemble
from churn_pipeline.models.baseline import BASELINE, single_member

KNOWN_LIMITS = (
    "Probabilities are calibrated on the newest training periods; a shift in the "
    "business (pricing, product, a new segment) needs a retrain before they hold.",
    "EMPC and MPC assume the configured CLV, incentive and contact costs and the "
    "Beta accept-rate prior; other campaign economics change the optimal target.",
    "The backtest refits the configured model at each origin with the tuned "
    "hyperparameters, chosen on data before the first origin.",
    "Reasons are SHAP attributions of the model, not causes: they say what moved "
    "the score, not what will change the outcome.",
)


def _span(dates: object) -> str:
    if not isinstance(dates, list) or not dates:
        return str(dates)
    return f"{dates[0]} .. {dates[-1]} ({len(dates)} as-of dates)"


# The kinds of evaluation a run may log: metric-name prefix, title, mean ± sd?
_EVALUATIONS = (
    ("backtest_", "Rolling-origin backtest (mean ± sd over origins)", True),
    ("cv_", "Cross-validation (mean ± sd over folds)", True),
    ("test_", "Out-of-time test", False),
)
_COMPARED = ("roc_auc", "pr_auc", "top_decile_lift", "empc", "mpc", "brier", "ece")


def _spread_rows(metrics: Mapping[str, float]) -> list[str]:
    rows = []
    for name in sorted(metrics):
        # The ensemble's own; the baseline's and members' are in the comparison.
        if not name.startswith(tuple(prefix for prefix, _, _ in _EVALUATIONS)):
            continue
        if name.endswith("_mean") and name.removesuffix("_mean") + "_sd" in metrics:
            base = name.removesuffix("_mean")
            rows.append(
                f"| {base} | {metrics[name]:.4f} | {metrics[base + '_sd']:.4f} |"
            )
    return rows


def model_card(
    model: ChurnEnsemble,
    metrics: Mapping[str, float],
    decision: Mapping[str, Any],
) -> str:
    """Render the model card of a registered version.

    Args:
        model: The fitted ensemble.
        metrics: Evaluation metrics as logged (test, backtest or cross-validation).
        decision: The champion decision (``ChampionDecision.to_dict()``).

    Returns:
        Markdown text.
    """
    lines = [
        f"# Model card: {decision['model_name']} v{decision['version']}",
        "",
        "## Champion decision",
        "",
        f"- Promoted: **{'yes' if decision['promoted'] else 'no'}** "
        f"({decision['reason']})",
        f"- Gate metric: `{decision['metric']}` = {decision['new_value']:.4f}",
        *_baseline_line(metrics, decision["metric"]),
        "",
        *_data_window(model, metrics),
        *_features(model),
        *_members(model, metrics),
        *_metrics(model, metrics),
        "## Known limits",
        "",
        *(f"- {limit}" for limit in KNOWN_LIMITS),
        "",
    ]
    return "\n".join(lines)


def _data_window(model: ChurnEnsemble, metrics: Mapping[str, float]) -> list[str]:
    """What the members and the calibration were fitted on; the test's size."""
    periods = getattr(model, "periods_", {})
    lines = [
        "## Data window",
        "",
        f"- Members fitted on: {_span(periods.get('member_fit'))}",
        f"- Weights and calibration fitted on: {_span(periods.get('calibration'))}",
        f"- Label horizon: {model.horizon_days} days",
    ]
    if "test_rows" in metrics:
        lines.append(
            f"- Out-of-time test: {int(metrics['test_rows'])} rows, churn rate "
            f"{100 * metrics['test_churn_rate']:.2f} %"
        )
    return [*lines, ""]


def _features(model: ChurnEnsemble) -> list[str]:
    """The features the model reads, by kind."""
    features = list(model.feature_names_in_)
    return [
        "## Features",
        "",
        f"{len(features)} features ({len(model.numeric_features_)} numeric, "
        f"{len(model.categorical_features_)} categorical); definitions in "
        "`docs/features.md`: " + ", ".join(f"`{f}`" for f in features),
        "",
    ]


def _baseline_line(metrics: Mapping[str, float], metric: str) -> list[str]:
    """The baseline's value of the gate metric, when the run logged it."""
    name = f"{BASELINE}_{metric}"
    if name not in metrics:
        return [f"- Baseline: `{name}` not logged, so not checked"]
    return [f"- Baseline (default XGBoost): `{name}` = {metrics[name]:.4f}"]


def _single_member_lines(
    model: ChurnEnsemble, metrics: Mapping[str, float]
) -> list[str]:
    """Whether the blend is one member alone, here and across the evaluation."""
    lines = []
    only = single_member(model.weights_)
    if only is not None:
        lines.append(
            f"The fitted blend gives all its weight to **{only}**: this model is "
            f"{only} alone, recalibrated."
        )
    share = metrics.get("ensemble_single_member_share")
    if share:
        where = "backtest origins" if "backtest_empc_mean" in metrics else "CV folds"
        lines.append(
            f"The blend was one member alone in {100 * share:.0f}% of the {where}."
        )
    return [*lines, ""] if lines else []


def _members(model: ChurnEnsemble, metrics: Mapping[str, float]) -> list[str]:
    """Each member's weight and arguments, the calibration, any lone member."""
    rows = []
    for name, params in model.member_params().items():
        arguments = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
        rows.append(f"| {name} | {model.weights_[name]:.3f} | {arguments} |")
    return [
        "## Members, weights and calibration",
        "",
        "| member | weight | arguments |",
        "|---|---|---|",
        *rows,
        "",
        f"Platt calibration of the blended log-odds: slope "
        f"{model.calibration_slope_:.4f}, intercept "
        f"{model.calibration_intercept_:.4f}. Class weight: {model.class_weight}.",
        "",
        *_single_member_lines(model, metrics),
    ]


def _comparison(
    model: ChurnEnsemble, metrics: Mapping[str, float], prefix: str, spread: bool
) -> list[str]:
    """Ensemble, baseline and members side by side on one kind of evaluation."""
    models = [("ensemble", ""), (BASELINE, f"{BASELINE}_")]
    models += [(name, f"{name}_") for name in model.weights_]
    columns = [
        m
        for m in _COMPARED
        if any(
            f"{p}{prefix}{m}" in metrics or f"{p}{prefix}{m}_mean" in metrics
            for _, p in models
        )
    ]

    def cell(key: str) -> str | None:
        if spread and f"{key}_mean" in metrics:
            return f"{metrics[f'{key}_mean']:.4f} ± {metrics.get(f'{key}_sd', 0.0):.4f}"
        if not spread and key in metrics:
            return f"{metrics[key]:.4f}"
        return None

    rows = []
    for name, model_prefix in models:
        cells = [cell(f"{model_prefix}{prefix}{m}") for m in columns]
        if any(c is not None for c in cells):
            rows.append(f"| {name} | " + " | ".join(c or "n/a" for c in cells) + " |")
    if not rows:
        return []
    return [
        "| model | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
        *rows,
        "",
    ]


def _metrics(model: ChurnEnsemble, metrics: Mapping[str, float]) -> list[str]:
    """Ensemble vs baseline vs members, then the ensemble's full spread and test."""
    lines = ["## Metrics", ""]
    for prefix, title, spread in _EVALUATIONS:
        table = _comparison(model, metrics, prefix, spread)
        if table:
            lines += [f"{title}:", "", *table]
        if table and prefix == "backtest_":
            # The members' backtest is not among the run's metrics.
            lines += [
                "Each member's backtest: `backtest_comparison.md` and the nested "
                "runs `backtest-<model>`.",
                "",
            ]
    spread_rows = _spread_rows(metrics)
    if spread_rows:
        lines += ["Ensemble, every metric with a spread:", ""]
        lines += ["| metric | mean | sd |", "|---|---|---|", *spread_rows, ""]
    test = {k: v for k, v in metrics.items() if k.startswith("test_")}
    if test:
        lines += ["Out-of-time test (ensemble):", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4f} |" for k, v in sorted(test.items())]
        lines.append("")
    return lines
