"""Project pipelines."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# Generating demo data overwrites data/01_raw, so it only runs when asked for by name.
_OPT_IN_PIPELINES = frozenset({"demo_data"})


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects; ``__default__`` is
        everything from validation to scoring.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (p for name, p in pipelines.items() if name not in _OPT_IN_PIPELINES),
        start=Pipeline([]),
    )
    return pipelines
