"""docs/features.md cannot drift from the registry."""

from __future__ import annotations

from pathlib import Path

from churn_pipeline.features import FEATURES
from churn_pipeline.features.docs import BLOCK, SECTIONS, render_features
from churn_pipeline.features.specs import DRIVERS, driver_features
from churn_pipeline.reporting.generated import embed

DOC = Path(__file__).resolve().parents[2] / "docs/features.md"


def test_document_matches_the_registry():
    # Fix: python -m churn_pipeline.features.docs --write docs/features.md
    document = DOC.read_text()
    assert embed(document, render_features(), BLOCK) == document


def test_every_feature_is_listed_once_under_its_source():
    rendered = render_features()
    for spec in FEATURES:
        assert rendered.count(f"| `{spec.name}` | {spec.description} |") == 1
        assert spec.source in SECTIONS, spec.name


def test_every_driver_is_listed_once_with_its_theme_and_features():
    rendered = render_features()
    for driver in DRIVERS:
        rows = [
            line
            for line in rendered.splitlines()
            if line.startswith(f"| `{driver.name}` | {driver.label} |")
        ]
        assert len(rows) == 1, driver.name
        assert f"| {driver.theme} |" in rows[0]
        for feature in driver_features(driver.name):
            assert f"`{feature}`" in rows[0]
    for spec in FEATURES:
        row = next(
            line
            for line in rendered.splitlines()
            if line.startswith(f"| `{spec.name}` | {spec.description}")
        )
        assert row.endswith(f"| {spec.driver} |")
