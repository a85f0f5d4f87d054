"""Optional API-key authentication for the churn service.

Set ``CHURN_API_KEY`` and every request must carry the key, as
``Authorization: Bearer <key>`` or ``X-API-Key: <key>``; without it the answer
is 401. Probes and metrics stay open so an orchestrator can check the process.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_KEY_ENV = "CHURN_API_KEY"
OPEN_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})


def _presented_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    values = {
        name.decode("latin-1").lower(): v.decode("latin-1") for name, v in headers
    }
    if "x-api-key" in values:
        return values["x-api-key"]
    scheme, _, token = values.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


class APIKeyMiddleware:
    """Reject HTTP requests without the configured key (constant-time compare)."""

    def __init__(self, app: ASGIApp, *, api_key: str) -> None:
        self.app = app
        self.api_key = api_key.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass open paths and requests with the key on; answer 401 otherwise."""
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        key = _presented_key(scope.get("headers", []))
        if key is not None and hmac.compare_digest(key.encode(), self.api_key):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {
                "detail": "Missing or wrong API key: send 'Authorization: Bearer "
                "<key>' or 'X-API-Key: <key>'"
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"www-authenticate", b"Bearer"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
