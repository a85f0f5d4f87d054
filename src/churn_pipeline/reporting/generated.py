"""Blocks of documentation generated from code, between two marker comments.

A test regenerates each block and compares it with the document, so the
documentation cannot drift from the code it describes.
"""

from __future__ import annotations


def markers(name: str) -> tuple[str, str]:
    """The begin and end comments around the generated block ``name``."""
    return (
        f"<!-- BEGIN GENERATED {name}: do not edit by hand -->",
        f"<!-- END GENERATED {name} -->",
    )


def embed(document: str, block: str, name: str) -> str:
    """Replace the generated block ``name`` of ``document`` with ``block``.

    Raises:
        ValueError: If the document lacks the block's markers.
    """
    begin, end = markers(name)
    if begin not in document or end not in document:
        raise ValueError(f"The document has no generated block {name!r}")
    head, _, rest = document.partition(begin)
    _, _, tail = rest.partition(end)
    return f"{head}{begin}\n\n{block}\n{end}{tail}"
