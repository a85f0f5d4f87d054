"""Project hooks."""

from __future__ import annotations

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.framework.project import pipelines

from churn_pipeline import pipeline_registry
from churn_pipeline.pipeline_registry import DEFAULT_INPUT_KIND, select_input_kind


class InputKindHooks:
    """Let the environment's ``input_kind`` parameter choose ``__default__``.

    ``kedro run --env telco`` must run the one-row-per-customer pipelines, but
    Kedro builds pipelines without knowing the environment; once the context
    (and so the parameters) exists, this picks the kind and has Kedro rebuild
    the pipelines before the run looks them up.
    """

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        """Select the default pipeline for this environment's input kind."""
        kind = context.params.get("input_kind", DEFAULT_INPUT_KIND)
        if select_input_kind(kind):
            # Other hooks may have loaded the pipelines already: reload them.
            pipelines.configure(pipeline_registry.__name__)
