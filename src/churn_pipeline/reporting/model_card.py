"""A markdown model card: what a registered churn model is and how good it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from churn_pipeline.models import ChurnEnsemble

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


def _spread_rows(metrics: Mapping[str, float]) -> list[str]:
    rows = []
    for name in sorted(metrics):
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
        "",
        *_data_window(model, metrics),
        *_features(model),
        *_members(model),
        *_metrics(metrics),
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


def _members(model: ChurnEnsemble) -> list[str]:
    """Each member's weight and arguments, and the calibration."""
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
    ]


def _metrics(metrics: Mapping[str, float]) -> list[str]:
    """Backtest or cross-validation spread, and the out-of-time test."""
    lines = ["## Metrics", ""]
    spread = _spread_rows(metrics)
    if spread:
        lines += ["| metric | mean | sd |", "|---|---|---|", *spread, ""]
    test = {k: v for k, v in metrics.items() if k.startswith("test_")}
    if test:
        lines += ["Out-of-time test (ensemble):", "", "| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.4f} |" for k, v in sorted(test.items())]
        lines.append("")
    return lines
