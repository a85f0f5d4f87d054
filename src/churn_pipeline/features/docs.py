"""The feature reference in ``docs/features.md``, rendered from the registry.

Regenerate with ``python -m churn_pipeline.features.docs --write docs/features.md``;
a test fails when the registry and the document disagree.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from churn_pipeline.features.specs import (
    BUILT_IN_USAGE_COLUMNS,
    DRIVERS,
    FEATURES,
    USAGE_WINDOWS,
    FeatureSpec,
    configured_usage_columns,
    configured_usage_specs,
    driver_features,
)
from churn_pipeline.reporting.generated import embed

logger = logging.getLogger(__name__)

BLOCK = "FEATURES"
# The example of features named from the configuration: conf/ravenstack's usage
# columns (tests/features/test_docs.py keeps them equal).
EXAMPLE_ENV = "ravenstack"
EXAMPLE_USAGE_COLUMNS = (
    "logins",
    "feature_uses",
    "features_used",
    "feature_seconds",
    "feature_errors",
)
_HEADER = (
    "| feature | meaning | unit | window | range | empty allowed | needs column | "
    "driver |\n|---|---|---|---|---|---|---|---|"
)
SECTIONS = {
    "accounts": "Tenure and firmographics (`accounts`)",
    "subscription_events": "Plan, seats and MRR (`subscription_events`)",
    "usage": "Usage (`usage`)",
    "tickets": "Support tickets (`tickets`)",
    "invoices": "Billing (`invoices`)",
    "nps_responses": "Net Promoter Score (`nps_responses`)",
}


def _bounds(spec: FeatureSpec) -> str:
    if spec.kind == "categorical":
        return "-"
    low = "-inf" if spec.minimum is None else f"{spec.minimum:g}"
    high = "inf" if spec.maximum is None else f"{spec.maximum:g}"
    return f"[{low}, {high}]"


def _row(spec: FeatureSpec) -> str:
    needs = ", ".join(f"`{c}`" for c in spec.requires) or "-"
    unit = spec.unit or spec.kind
    return (
        f"| `{spec.name}` | {spec.description} | {unit} | {spec.window or '-'} | "
        f"{_bounds(spec)} | {'yes' if spec.nullable else 'no'} | {needs} | "
        f"{spec.driver} |"
    )


def render_drivers() -> str:
    """Markdown table of the drivers: name, label, theme and features."""
    rows = [
        f"| `{d.name}` | {d.label} | {d.theme} | "
        f"{', '.join(f'`{f}`' for f in driver_features(d.name))} |"
        for d in DRIVERS
    ]
    return "\n".join(
        [
            "### Drivers",
            "",
            "| driver | label | theme | features |",
            "|---|---|---|---|",
            *rows,
        ]
    )


def render_configured() -> str:
    """The naming rule of configured usage columns' features, with an example."""
    built_in = ", ".join(f"`{c}`" for c in BUILT_IN_USAGE_COLUMNS)
    windows = ",".join(str(d) for d in USAGE_WINDOWS)
    example = configured_usage_columns(EXAMPLE_USAGE_COLUMNS)
    specs = configured_usage_specs(EXAMPLE_USAGE_COLUMNS)
    rule = f"""### Features from your usage columns

The contract's usage columns are
{built_in}.
Every other entry of `data_validation.usage_columns` (a key-feature column of
`feature_engineering.key_feature_columns` among them) gets seven features of its
own, named from the column:

- `<column>_{{{windows}}}d`: the column's sum over the window;
- `<column>_trend_30d`: last 30 days vs the 30 before,
  `(last + 1) / (previous + 1) - 1`;
- `days_since_<column>`: days since the last day the column was positive (from the
  start of usage history, or signup if later, when it never was);
- `<column>_per_seat_30d`: the 30-day sum per paid seat.

A key-feature column also still adds to `key_feature_uses_*` and the key-feature
trend, breadth and onboarding counts. Each column is a **driver** of its own (named
like the column, theme `usage`, so its risk calls the usage action). The API checks
the same window-order rules on them, that a positive sum in a window puts
`days_since_<column>` inside it, and that it never exceeds `tenure_days`. A column
whose names would clash with a registry feature or driver, or with another column's
(`exports` and `exports_trend`), or that is no plain identifier, stops the run
naming the column: rename it in `data_validation.mappings.usage.columns` (or
`ingestion.usage_aggregations`). They carry **no monotone constraint** by default
(more errors and more uses do not move risk the same way): add patterns under
`model_training.monotone_constraints` (e.g. `"feature_errors_*": 1`); note that a
base pattern matching the name (`logins_*`, `active_*`, `uses_*`, `tickets_*`, ...)
applies to it too.

Example: in `conf/{EXAMPLE_ENV}` the usage columns
{", ".join(f"`{c}`" for c in example)}
give these {len(specs)} features:"""
    return "\n".join([rule, "", _HEADER, *(_row(spec) for spec in specs)])


def render_features() -> str:
    """Markdown tables of the drivers, every feature by source table, the rule."""
    parts = [render_drivers()]
    for source, title in SECTIONS.items():
        specs = [f for f in FEATURES if f.source == source]
        parts.append(
            "\n".join([f"### {title}", "", _HEADER, *(_row(spec) for spec in specs)])
        )
    total = f"{len(FEATURES)} features in all."
    return "\n\n".join([*parts, total, render_configured()]) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Rewrite the generated block of the feature reference from the registry."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, required=True, help="markdown file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    args.write.write_text(embed(args.write.read_text(), render_features(), BLOCK))
    logger.info("Wrote %d features to %s", len(FEATURES), args.write)


if __name__ == "__main__":
    main()
