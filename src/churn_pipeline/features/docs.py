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
    DRIVERS,
    FEATURES,
    FeatureSpec,
    driver_features,
)
from churn_pipeline.reporting.generated import embed

logger = logging.getLogger(__name__)

BLOCK = "FEATURES"
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


def render_features() -> str:
    """Markdown tables of the drivers, then every feature by source table."""
    parts = [render_drivers()]
    for source, title in SECTIONS.items():
        specs = [f for f in FEATURES if f.source == source]
        parts.append(
            "\n".join(
                [
                    f"### {title}",
                    "",
                    "| feature | meaning | unit | window | range | empty allowed | "
                    "needs column | driver |",
                    "|---|---|---|---|---|---|---|---|",
                    *(_row(spec) for spec in specs),
                ]
            )
        )
    total = f"{len(FEATURES)} features in all."
    return "\n\n".join([*parts, total]) + "\n"


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
