"""Writing a benchmark's results file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def write_json(path: Path, result: Mapping[str, Any]) -> None:
    """Write ``result`` atomically (a partial file never replaces a good one).

    NaN is refused: it is not JSON, and a results file must parse anywhere.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    partial.replace(path)
