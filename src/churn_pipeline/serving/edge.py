"""The HTTP edge of a BentoML worker: request-head limits, and an outer app.

BentoML's worker (``_bentoml_impl/worker/service.py``) builds its
``uvicorn.Config`` itself, with no way to add options: only the backlog, TLS
and keep-alive settings reach uvicorn. Two things need that level:

* A request-head timeout. uvicorn has none (its "timeout-request-start" of
  Kludex/uvicorn#157 was never implemented): ``timeout_keep_alive`` only runs
  *between* requests, is not started for a new connection, and is cancelled by
  the first byte received. A client that connects and sends nothing, or sends
  half a request head, holds its connection (and a file descriptor of the
  worker) until it goes away itself: the slowloris attack.
* A place in front of BentoML's own middlewares (``hardening`` needs
  one in front of its metrics middleware); middlewares added with
  ``add_asgi_middleware`` run inside them.

:func:`install_edge` therefore makes :class:`EdgeProtocol` the protocol uvicorn
loads by default (``uvicorn.config.HTTP_PROTOCOLS["auto"]``, which names the
class ``Config(http="auto")`` imports when the worker starts serving): uvicorn's
own httptools protocol, which closes a connection whose request head (request
line and headers) is not complete ``header_timeout_s`` after the connection
opened or the request's first byte arrived, refuses (431) a head still not
complete after ``MAX_HEAD_BYTES``, gives the rest of a body answered early
``header_timeout_s`` to arrive (or closes), and calls the app through
``outer``. A body that trickles in before any answer is bounded by BentoML's
traffic timeout (``traffic.timeout``): 504 when a request has had no answer in
that time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

import uvicorn.config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from churn_pipeline.serving.auth import ASGIApp

logger = logging.getLogger(__name__)
OuterApp = Callable[[ASGIApp, Any], ASGIApp]
# A request head (request line and headers) is a few KiB; httptools keeps an
# unfinished header in memory whatever its size, so a head that is still not
# complete after this many bytes is refused. (Counted per chunk read, so the
# end of a pipelined request's body may count too: hence the wide margin.)
MAX_HEAD_BYTES = 1024 * 1024
_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-length: 0\r\nconnection: close\r\n\r\n"
)


@dataclass(frozen=True)
class EdgeSettings:
    """What :class:`EdgeProtocol` does: the head timeout and the outer app.

    ``outer(app, served)`` returns the app uvicorn calls in place of ``app``
    (uvicorn's loaded app); ``served`` is the app given to uvicorn, BentoML's
    Starlette app.
    """

    header_timeout_s: float = 10.0
    outer: OuterApp | None = None


_settings = EdgeSettings()
_outer_apps: WeakKeyDictionary[uvicorn.config.Config, ASGIApp] = WeakKeyDictionary()


def install_edge(*, header_timeout_s: float, outer: OuterApp | None = None) -> None:
    """Serve every uvicorn server started later in this process through the edge.

    Raises:
        ValueError: If ``header_timeout_s`` is not positive.
    """
    global _settings  # noqa: PLW0603 - read by every connection's protocol
    if header_timeout_s <= 0:
        raise ValueError(f"header_timeout_s must be > 0, got {header_timeout_s}")
    _settings = EdgeSettings(header_timeout_s, outer)
    _outer_apps.clear()
    uvicorn.config.HTTP_PROTOCOLS["auto"] = f"{__name__}:{EdgeProtocol.__name__}"


def _outer_app(config: uvicorn.config.Config, app: ASGIApp) -> ASGIApp:
    """``app`` behind the outer app, built once per server configuration."""
    if _settings.outer is None:
        return app
    if config not in _outer_apps:
        try:
            _outer_apps[config] = _settings.outer(app, config.app)
        except Exception:  # an exception here would hang every connection
            logger.exception("Cannot build the outer app: serving without it")
            _outer_apps[config] = app
    return _outer_apps[config]


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with request-head limits and an outer app."""

    def __init__(
        self,
        config: uvicorn.config.Config,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.app = _outer_app(config, self.app)
        self.header_timeout_s = _settings.header_timeout_s
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._drain_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the clock for the first request's head."""
        super().connection_made(transport)
        self._start_head_timer()

    def data_received(self, data: bytes) -> None:
        """Parse ``data``; refuse a head that grows past ``MAX_HEAD_BYTES``."""
        super().data_received(data)
        if self._head_timer is None or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES:
            self._stop_head_timer()
            if self.cycle is None or self.cycle.response_complete:
                self.transport.write(_HEAD_TOO_LARGE)
            self.transport.close()

    def on_message_begin(self) -> None:
        """Start the clock for a later request's head at its first byte."""
        super().on_message_begin()
        self._unset_keepalive_if_required()  # not idle: a request has begun
        if self._head_timer is None:
            self._start_head_timer()

    def on_headers_complete(self) -> None:
        """Stop the clock: the head is complete."""
        self._stop_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        """Give a body still coming ``header_timeout_s`` to arrive, or close.

        After an answer sent before the whole body arrived (413, 415, BentoML's
        504), uvicorn reads on and drops the rest, keeping the connection for as
        long as the client trickles it. Closing at once would lose the answer
        for a client still sending (its kernel discards what it did not read
        when the reset arrives), so the rest may come for that long.
        """
        if not self.pipeline and self.cycle is not None and self.cycle.more_body:
            self._drain_timer = self.loop.call_later(
                self.header_timeout_s, self.transport.close
            )
        super().on_response_complete()

    def on_message_complete(self) -> None:
        """Once a body answered early has all arrived, idle as after any answer."""
        super().on_message_complete()
        if self._drain_timer is not None:
            self._drain_timer.cancel()
            self._drain_timer = None
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the clocks."""
        self._stop_head_timer()
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(
            self.header_timeout_s, self._head_timed_out
        )

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head is late while the previous request is answered:
            # finish that answer, then close.
            self.cycle.keep_alive = False
            return
        logger.debug(
            "Closed a connection from %s: no complete request head in %s s",
            self.client,
            self.header_timeout_s,
        )
        self.transport.close()
