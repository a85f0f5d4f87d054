"""One self-contained HTML page: charts embedded as PNG data, no outside files.

The page opens from a file, an e-mail attachment or the MLflow UI's artifact
view alike, because nothing it shows is fetched from anywhere.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

_DPI = 110
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #222; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; }
.subtitle { color: #666; margin-top: 0; }
.headline { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1.5rem 0; }
.headline div { background: #f3f5f8; border-radius: 6px; padding: 0.6rem 1rem; }
.headline b { display: block; font-size: 1.4rem; }
section { margin: 2.2rem 0; }
img.chart { max-width: 100%; border: 1px solid #eee; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #eee; text-align: right; }
th:first-child, td:first-child { text-align: left; }
"""


@dataclass(frozen=True)
class ReportSection:
    """A heading, a sentence or two, and a chart and/or a table."""

    title: str
    text: str
    figure: Figure | None = None
    table: pd.DataFrame | None = None


def figure_data_uri(figure: Figure) -> str:
    """The figure as a ``data:image/png;base64,...`` URI."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/png;base64,{encoded}"


def _section(section: ReportSection) -> str:
    parts = [f"<h2>{html.escape(section.title)}</h2>"]
    parts.append(f"<p>{html.escape(section.text)}</p>")
    if section.figure is not None:
        parts.append(
            f'<img class="chart" alt="{html.escape(section.title, quote=True)}" '
            f'src="{figure_data_uri(section.figure)}">'
        )
    if section.table is not None:
        parts.append(section.table.to_html(index=False, border=0, na_rep="-"))
    return "<section>\n" + "\n".join(parts) + "\n</section>"


def render_report(
    title: str,
    subtitle: str,
    headline: Mapping[str, str],
    sections: Sequence[ReportSection],
) -> str:
    """The report as one HTML document.

    Args:
        title: Page title.
        subtitle: One line under the title (data window, model version, ...).
        headline: Label -> value of the key numbers shown at the top.
        sections: The report's sections, in order.

    Returns:
        The HTML text; every chart is embedded.
    """
    figures = "\n".join(
        f"<div>{html.escape(label)}<b>{html.escape(value)}</b></div>"
        for label, value in headline.items()
    )
    body = "\n".join(_section(section) for section in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_STYLE}</style>\n"
        "</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        f'<p class="subtitle">{html.escape(subtitle)}</p>\n'
        f'<div class="headline">\n{figures}\n</div>\n'
        f"{body}\n</body>\n</html>\n"
    )
