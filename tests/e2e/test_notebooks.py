"""Every analyst notebook runs top to bottom on a freshly trained project.

The notebooks read the pipeline's outputs through the Kedro catalog of the
project in the kernel's working directory, so they are executed inside the
temporary project of ``trained_project`` (two ``kedro run``s).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

pytestmark = pytest.mark.e2e

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
# Colours and hyperlinks of rich's terminal output.
ANSI = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b]*\x1b\\")


def _failed_cell_text(nb: nbformat.NotebookNode) -> str:
    """What the last executed cell printed, its traceback included.

    Kedro's logging configuration installs rich tracebacks in the kernel: the
    traceback then arrives as displayed text, not as the error output that
    nbclient puts in its message.
    """
    executed = [
        cell
        for cell in nb.cells
        if cell.cell_type == "code" and cell.get("execution_count") is not None
    ]
    if not executed:
        return "(no cell ran)"
    cell = max(executed, key=lambda c: c.execution_count)
    texts = [
        output.get("text") or output.get("data", {}).get("text/plain", "")
        for output in cell.outputs
    ]
    return f"cell {cell.get('id')}:\n" + ANSI.sub("", "".join(texts))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_notebook_runs_and_draws(trained_project, notebook: Path):
    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(trained_project.path)}},
    )
    try:
        client.execute()
    except CellExecutionError as error:
        error.add_note(f"{notebook.name} failed; {_failed_cell_text(nb)}")
        raise
    images = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert images, f"{notebook.name} drew no figure (no image/png output)"
