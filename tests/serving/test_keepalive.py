"""Keep-alive connections are closed after a number of requests."""

from __future__ import annotations

import asyncio

import pytest

from churn_pipeline.serving.keepalive import ConnectionRecycleMiddleware


async def _app(scope, receive, send):
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"Connection", b"keep-alive"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


def _request(middleware, client=("127.0.0.1", 5000), kind="http"):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": kind, "client": client, "headers": []}
    asyncio.run(middleware(scope, receive, send))
    return sent


def _connection_header(sent):
    start = next(m for m in sent if m["type"] == "http.response.start")
    return [value for name, value in start["headers"] if name.lower() == b"connection"]


def test_every_third_request_of_a_connection_closes_it():
    middleware = ConnectionRecycleMiddleware(_app, max_requests=3)
    headers = [_connection_header(_request(middleware)) for _ in range(7)]
    closing = [i for i, values in enumerate(headers, start=1) if values == [b"close"]]
    assert closing == [3, 6]
    # The app's own keep-alive header passes through until then.
    assert headers[0] == [b"keep-alive"]


def test_connections_are_counted_apart():
    middleware = ConnectionRecycleMiddleware(_app, max_requests=2)
    first = ("127.0.0.1", 5000)
    assert _connection_header(_request(middleware, first)) == [b"keep-alive"]
    assert _connection_header(_request(middleware, ("127.0.0.1", 5001))) == [
        b"keep-alive"
    ]
    assert _connection_header(_request(middleware, first)) == [b"close"]


def test_body_and_status_are_untouched():
    sent = _request(ConnectionRecycleMiddleware(_app, max_requests=1))
    assert sent[0]["status"] == 200
    assert sent[1] == {"type": "http.response.body", "body": b"ok"}


def test_requests_without_a_client_address_pass_through():
    middleware = ConnectionRecycleMiddleware(_app, max_requests=1)
    assert _connection_header(_request(middleware, client=None)) == [b"keep-alive"]


def test_the_table_of_counts_stays_bounded(monkeypatch):
    monkeypatch.setattr("churn_pipeline.serving.keepalive._MAX_TRACKED", 5)
    middleware = ConnectionRecycleMiddleware(_app, max_requests=10)
    for port in range(20):
        _request(middleware, ("127.0.0.1", port))
    assert len(middleware._served) == 5


def test_max_requests_below_one_is_refused():
    with pytest.raises(ValueError, match="max_requests must be >= 1, got 0"):
        ConnectionRecycleMiddleware(_app, max_requests=0)
