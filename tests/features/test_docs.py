"""docs/features.md cannot drift from the registry."""

from __future__ import annotations

from pathlib import Path

import yaml

from churn_pipeline.features import FEATURES
from churn_pipeline.features.docs import (
    BLOCK,
    EXAMPLE_ENV,
    EXAMPLE_USAGE_COLUMNS,
    SECTIONS,
    render_configured,
    render_features,
)
from churn_pipeline.features.specs import (
    DRIVERS,
    configured_usage_specs,
    driver_features,
)
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


def test_the_configured_example_is_the_ravenstack_configuration():
    conf = DOC.parents[1] / "conf" / EXAMPLE_ENV
    validation = yaml.safe_load((conf / "parameters_data_validation.yml").read_text())
    assert tuple(validation["data_validation"]["usage_columns"]) == (
        EXAMPLE_USAGE_COLUMNS
    )


def test_the_configured_example_lists_each_feature_once_with_its_driver():
    rendered = render_configured()
    for spec in configured_usage_specs(EXAMPLE_USAGE_COLUMNS):
        rows = [
            line
            for line in rendered.splitlines()
            if line.startswith(f"| `{spec.name}` | {spec.description} |")
        ]
        assert len(rows) == 1, spec.name
        assert rows[0].endswith(f"| {spec.requires[0]} |")
    assert "no monotone constraint" in rendered
