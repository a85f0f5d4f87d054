"""The self-contained HTML report."""

from __future__ import annotations

import base64

import pandas as pd
from matplotlib.figure import Figure

from churn_pipeline.reporting.html_report import (
    ReportSection,
    figure_data_uri,
    render_report,
)


def _figure() -> Figure:
    figure = Figure(figsize=(2, 2))
    figure.subplots().plot([0, 1], [1, 0])
    return figure


def test_figure_becomes_a_png_data_uri() -> None:
    uri = figure_data_uri(_figure())

    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :]).startswith(b"\x89PNG")


def test_text_is_escaped_so_data_cannot_inject_markup() -> None:
    html = render_report(
        "Churn <b>report</b>",
        "accounts & more",
        {"plan <x>": "5 %"},
        [
            ReportSection(
                'Section "one"',
                "<script>alert(1)</script>",
                table=pd.DataFrame({"account": ["<img src=x>"]}),
            )
        ],
    )

    assert "<script>" not in html
    assert "<img src=x>" not in html
    assert "Churn &lt;b&gt;report&lt;/b&gt;" in html
    assert "accounts &amp; more" in html


def test_sections_in_order_with_their_chart_and_table() -> None:
    html = render_report(
        "Report",
        "sub",
        {"Logo churn": "2.9 %"},
        [
            ReportSection("First", "a", figure=_figure()),
            ReportSection("Second", "b", table=pd.DataFrame({"x": [1, None]})),
        ],
    )

    assert html.index("<h2>First</h2>") < html.index("<h2>Second</h2>")
    assert html.count('<img class="chart"') == 1
    assert 'alt="First"' in html
    assert "<table" in html
    assert "<b>2.9 %</b>" in html
    assert html.startswith("<!DOCTYPE html>")
