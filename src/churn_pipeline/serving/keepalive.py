"""Close each keep-alive connection after a number of requests, so workers share them.

BentoML's worker processes take turns at one listening socket, and an HTTP/1.1
keep-alive connection stays with the worker that accepted it. A caller holding
a few long-lived connections can therefore load one worker while another
idles (the serving benchmark saw 7 of 8 connections on one worker). Answering
the ``max_requests``-th request of a connection with ``Connection: close``
makes the client open a new one, which whichever worker is free to accept
first takes, so the split evens out over time instead of lasting for the
connection's life. Web servers do the same (nginx ``keepalive_requests``,
Apache ``MaxKeepAliveRequests``); reconnecting on the loopback or a LAN costs
far less than a request.

``CHURN_MAX_REQUESTS_PER_CONNECTION`` sets the number (default 100; 0 keeps
connections open for good; read by src/churn_pipeline/serving/runtime.py).
"""

from __future__ import annotations

from collections import OrderedDict

from churn_pipeline.serving.auth import ASGIApp, Message, Receive, Scope, Send

# Connections a client closed itself leave their count behind; keep the
# newest this many so the table cannot grow without bound.
_MAX_TRACKED = 10_000


class ConnectionRecycleMiddleware:
    """Answer a connection's ``max_requests``-th request with ``Connection: close``.

    Connections are told apart by the client's address and port, which is
    unique among a worker's open connections.

    Raises:
        ValueError: If ``max_requests`` is below 1.
    """

    def __init__(self, app: ASGIApp, *, max_requests: int) -> None:
        if max_requests < 1:
            raise ValueError(f"max_requests must be >= 1, got {max_requests}")
        self.app = app
        self.max_requests = max_requests
        self._served: OrderedDict[tuple[str, int], int] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the connection's request; close it after this one if it is due."""
        client = scope.get("client") if scope["type"] == "http" else None
        if not client:
            await self.app(scope, receive, send)
            return
        key = (client[0], client[1])
        served = self._served.pop(key, 0) + 1
        if served < self.max_requests:
            self._served[key] = served
            if len(self._served) > _MAX_TRACKED:
                self._served.popitem(last=False)
            await self.app(scope, receive, send)
            return

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, send_closing)
