"""Per-node wall time and peak memory of a run, when asked for.

Set ``CHURN_PIPELINE_PROFILE`` to a JSON path and every node of the next
``kedro run`` is recorded there: its stage (the smallest registered pipeline
holding it), wall and CPU seconds, and the process's peak resident memory
while it ran. A node's span runs from loading its first input to saving its
last output: a feature node returns a lazy engine expression, and the engine
does the work when the catalog writes it, so the function's own time
(``run_s``) alone would credit that work to no node. The file is rewritten
(atomically) when a node starts and ends, so a run the kernel kills for
memory still names the node it was in.

Memory is the Kedro process's own: DuckDB's and Spark's driver threads are
in it, Spark's JVM (a child process) is not; ``benchmarks/bench_scale.py``
measures the whole process tree from outside. A node's peak is exact when it
raised the process's high-water mark (``VmHWM``) and otherwise the highest of
``VmRSS`` samples taken every :data:`SAMPLE_INTERVAL_S` while it ran. With a
parallel runner, nodes that overlap share the process's peak.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import resource
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.pipeline import Pipeline
from kedro.pipeline.node import Node

logger = logging.getLogger(__name__)

PROFILE_ENV = "CHURN_PIPELINE_PROFILE"
# Short enough to catch a node's transient peak, long enough to cost nothing.
SAMPLE_INTERVAL_S = 0.1
_STATUS = Path("/proc/self/status")
_STATM = Path("/proc/self/statm")
_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 0.0

Registry = Callable[[], Mapping[str, Pipeline]]


def rss_mb() -> float:
    """Resident memory of this process now, in MB (0 where /proc is missing)."""
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE_MB
    except (OSError, IndexError, ValueError):
        return 0.0


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (``VmHWM``), in MB."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    # Linux reports ru_maxrss in KB; elsewhere /proc is missing anyway.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def node_stages(registered: Mapping[str, Pipeline]) -> dict[str, str]:
    """Each node's stage: the smallest registered pipeline that holds it.

    Input kinds and ``__default__`` hold whole stages, so the smallest
    pipeline holding a node is its stage package (ties: the first name).
    """
    stages: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for name in sorted(registered):
        if name == "__default__":
            continue
        pipeline = registered[name]
        size = len(pipeline.nodes)
        for node in pipeline.nodes:
            if node.name not in sizes or size < sizes[node.name]:
                stages[node.name], sizes[node.name] = name, size
    return stages


def _project_pipelines() -> Mapping[str, Pipeline]:
    from kedro.framework.project import pipelines  # noqa: PLC0415 (configured late)

    return pipelines


class _Sampler(threading.Thread):
    """Samples ``VmRSS`` into the peak of every node running."""

    def __init__(self, interval_s: float) -> None:
        super().__init__(name="node-profile-sampler", daemon=True)
        self._interval_s = interval_s
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._peaks: dict[str, float] = {}

    def start_node(self, name: str) -> None:
        with self._lock:
            self._peaks[name] = rss_mb()

    def end_node(self, name: str) -> float:
        """The highest sample since ``start_node``, the current one included."""
        now = rss_mb()
        with self._lock:
            return max(self._peaks.pop(name, now), now)

    def run(self) -> None:
        while not self._stop_event.wait(self._interval_s):
            now = rss_mb()
            with self._lock:
                for name, peak in self._peaks.items():
                    self._peaks[name] = max(peak, now)

    def stop(self) -> None:
        """Stop sampling and wait for the thread to end (none outlives the run)."""
        self._stop_event.set()
        self.join()


class NodeProfileHooks:
    """Record each node's wall time, CPU time and peak RSS to a JSON file.

    Inactive unless :data:`PROFILE_ENV` names the file (read when the run
    starts), so an ordinary run pays nothing.
    """

    def __init__(
        self,
        registry: Registry = _project_pipelines,
        interval_s: float = SAMPLE_INTERVAL_S,
    ) -> None:
        self._registry = registry
        self._interval_s = interval_s
        self._path: Path | None = None
        self._sampler: _Sampler | None = None
        self._document: dict[str, Any] = {}
        self._stages: dict[str, str] = {}
        self._open: dict[str, dict[str, Any]] = {}
        self._began = 0.0

    @hook_impl
    def before_pipeline_run(
        self, run_params: dict[str, Any], pipeline: Pipeline
    ) -> None:
        """Start recording if :data:`PROFILE_ENV` is set."""
        target = os.environ.get(PROFILE_ENV)
        if not target:
            return
        self._path = Path(target)
        self._stages = self._known_stages(pipeline)
        self._began = time.perf_counter()
        self._document = {
            "status": "running",
            "pid": os.getpid(),
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "pipeline_names": run_params.get("pipeline_names"),
            "env": run_params.get("env"),
            "sample_interval_s": self._interval_s,
            "wall_s": None,
            "peak_rss_mb": None,
            "nodes": [],
        }
        self._sampler = _Sampler(self._interval_s)
        self._sampler.start()
        self._write()
        logger.info("Profiling every node's wall time and peak RSS into %s", target)

    @hook_impl
    def before_dataset_loaded(self, dataset_name: str, node: Node) -> None:
        """Open the node's record at its first input: loading is its work."""
        self._open_node(node)

    @hook_impl
    def before_node_run(self, node: Node) -> None:
        """Open the record of a node without inputs; mark where its function starts."""
        self._open_node(node)
        record = self._open.get(node.name)
        if record is not None:
            record["_run_began"] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node: Node) -> None:
        """Close the record, or wait for its outputs: writing them is its work."""
        record = self._open.get(node.name)
        if record is None:
            return
        began = record.pop("_run_began", None)
        record["run_s"] = (
            None if began is None else round(time.perf_counter() - began, 3)
        )
        record["_unsaved"] = set(node.outputs)
        if not record["_unsaved"]:
            self._close_node(node, "completed")

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, node: Node) -> None:
        """Close the node's record once its last output is written."""
        record = self._open.get(node.name)
        if record is None or "_unsaved" not in record:
            return
        record["_unsaved"].discard(dataset_name)
        if not record["_unsaved"]:
            self._close_node(node, "completed")

    def _open_node(self, node: Node) -> None:
        """Start the node's record and its memory sampling (once per node)."""
        if self._sampler is None or node.name in self._open:
            return
        hwm = peak_rss_mb()
        record = {
            "name": node.name,
            "stage": self._stages.get(node.name),
            "status": "running",
            "started_s": round(time.perf_counter() - self._began, 3),
            "wall_s": None,
            "run_s": None,
            "cpu_s": None,
            "peak_rss_mb": None,
            "rss_before_mb": round(rss_mb(), 1),
            "rss_after_mb": None,
            "_began": time.perf_counter(),
            "_cpu": time.process_time(),
            "_hwm": hwm,
        }
        self._open[node.name] = record
        self._document["nodes"].append(record)
        self._sampler.start_node(node.name)
        self._write()

    @hook_impl
    def on_node_error(self, node: Node) -> None:
        """Close the node's record as failed."""
        self._close_node(node, "failed")

    @hook_impl
    def after_pipeline_run(self) -> None:
        """Write the finished profile."""
        self._finish("completed", None)

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        """Write the profile of the failed run, naming the error."""
        self._finish("failed", f"{type(error).__name__}: {error}")

    def _known_stages(self, pipeline: Pipeline) -> dict[str, str]:
        try:
            stages = node_stages(self._registry())
        except (ImportError, RuntimeError, ValueError) as error:
            # Profiling only: a node without a stage is reported, not fatal.
            logger.warning("Profile: the pipelines' stages are unknown: %s", error)
            stages = {}
        missing = sorted(n.name for n in pipeline.nodes if n.name not in stages)
        if missing:
            logger.warning("Profile: nodes in no registered pipeline: %s", missing)
        return stages

    def _close_node(self, node: Node | str, status: str) -> None:
        name = node if isinstance(node, str) else node.name
        record = self._open.pop(name, None)
        if self._sampler is None or record is None:
            return
        sampled = self._sampler.end_node(name)
        hwm = peak_rss_mb()
        # A raised high-water mark is this node's exact peak; otherwise the
        # samples are all there is.
        peak = hwm if hwm > record.pop("_hwm") else sampled
        for private in ("_run_began", "_unsaved"):
            record.pop(private, None)
        record.update(
            status=status,
            wall_s=round(time.perf_counter() - record.pop("_began"), 3),
            cpu_s=round(time.process_time() - record.pop("_cpu"), 3),
            peak_rss_mb=round(max(peak, sampled), 1),
            rss_after_mb=round(rss_mb(), 1),
        )
        self._write()

    def _finish(self, status: str, error: str | None) -> None:
        if self._sampler is None:
            return
        # A node whose save raised never had its outputs written.
        for name in list(self._open):
            self._close_node(name, "failed")
        self._sampler.stop()
        node_peaks = [
            record["peak_rss_mb"]
            for record in self._document["nodes"]
            if record["peak_rss_mb"] is not None
        ]
        self._sampler = None
        self._document.update(
            status=status,
            error=error,
            wall_s=round(time.perf_counter() - self._began, 3),
            # VmHWM, or a node's sampled VmRSS where that read higher.
            peak_rss_mb=round(max([peak_rss_mb(), *node_peaks]), 1),
            finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        self._write()
        logger.info("Node profile written to %s", self._path)

    def _write(self) -> None:
        if self._path is None:
            return
        nodes = [
            {k: v for k, v in record.items() if not k.startswith("_")}
            for record in self._document["nodes"]
        ]
        text = json.dumps({**self._document, "nodes": nodes}, indent=2) + "\n"
        self._path.parent.mkdir(parents=True, exist_ok=True)
        partial = self._path.with_name(self._path.name + ".tmp")
        partial.write_text(text)
        partial.replace(self._path)
