"""uvicorn's protocol with request-head limits and an outer app (serving.edge)."""

from __future__ import annotations

import asyncio
import logging

import pytest
import uvicorn
import uvicorn.config
from uvicorn.server import ServerState

from churn_pipeline.serving import edge

DEADLINE_S = 30.0


class _Transport:
    """Just enough of an asyncio transport for uvicorn's protocol."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name, default=None):
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 3000)}.get(
            name, default
        )

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


@pytest.fixture
def restored_edge():
    saved = edge._settings, uvicorn.config.HTTP_PROTOCOLS["auto"]
    yield
    edge._settings, uvicorn.config.HTTP_PROTOCOLS["auto"] = saved
    edge._outer_apps.clear()


async def _hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


def _connect(loop, app=_hello, config=None):
    config = config or uvicorn.Config(app=app, log_config=None, lifespan="off")
    protocol = edge.EdgeProtocol(config, ServerState(), {}, _loop=loop)
    transport = _Transport()
    protocol.connection_made(transport)
    return protocol, transport


async def _until(condition) -> None:
    """Poll ``condition`` until it holds, failing after a generous deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while not condition():
        assert loop.time() < deadline, "condition not met before the deadline"
        await asyncio.sleep(0.01)


@pytest.mark.usefixtures("restored_edge")
@pytest.mark.parametrize(
    "sent",
    [b"", b"GET /livez HTTP/1.1\r\nHost: x\r\n", b"GET /liv"],
    ids=["nothing", "headers-unfinished", "request-line-unfinished"],
)
def test_connection_without_a_complete_head_is_closed(sent):
    edge.install_edge(header_timeout_s=0.05)

    async def scenario():
        protocol, transport = _connect(asyncio.get_running_loop())
        if sent:
            protocol.data_received(sent)
        assert protocol._head_timer is not None
        await _until(lambda: transport.closed)
        assert transport.written == b""  # closed without an answer

    asyncio.run(scenario())


@pytest.mark.usefixtures("restored_edge")
def test_complete_head_stops_the_clock_and_a_later_request_restarts_it():
    edge.install_edge(header_timeout_s=3600)

    async def scenario():
        protocol, transport = _connect(asyncio.get_running_loop())
        protocol.data_received(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        assert protocol._head_timer is None
        await _until(lambda: b"hello" in transport.written)
        assert not transport.closed  # kept alive
        protocol.data_received(b"GET /livez HTTP/1.1\r\n")
        assert protocol._head_timer is not None
        protocol.connection_lost(None)
        assert protocol._head_timer is None

    asyncio.run(scenario())


@pytest.mark.usefixtures("restored_edge")
def test_late_pipelined_head_lets_the_answer_in_flight_finish_then_closes():
    edge.install_edge(header_timeout_s=3600)
    release = asyncio.Event()

    async def slow(scope, receive, send):
        await release.wait()
        await _hello(scope, receive, send)

    async def scenario():
        protocol, transport = _connect(asyncio.get_running_loop(), slow)
        protocol.data_received(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HT")
        protocol._head_timed_out()  # what the timer does when it fires
        assert not transport.closed
        release.set()
        await _until(lambda: transport.closed)
        assert transport.written.count(b"hello") == 1

    asyncio.run(scenario())


@pytest.mark.usefixtures("restored_edge")
@pytest.mark.parametrize(
    ("value_kib", "refused"), [(200, False), (edge.MAX_HEAD_BYTES // 1024 + 64, True)]
)
def test_head_growing_past_the_limit_is_refused_with_431(value_kib, refused):
    edge.install_edge(header_timeout_s=3600)

    async def scenario():
        protocol, transport = _connect(asyncio.get_running_loop())
        protocol.data_received(b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ")
        for _ in range(value_kib // 64):
            protocol.data_received(b"a" * 64 * 1024)
        if not refused:
            protocol.data_received(b"\r\n\r\n")
            await _until(lambda: b"hello" in transport.written)
        assert transport.closed is refused
        assert transport.written.startswith(b"HTTP/1.1 431") is refused

    asyncio.run(scenario())


@pytest.mark.usefixtures("restored_edge")
def test_body_answered_early_and_never_finished_is_cut_off():
    edge.install_edge(header_timeout_s=0.05)

    async def scenario():
        protocol, transport = _connect(asyncio.get_running_loop())
        head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
        protocol.data_received(head + b"123")
        await _until(lambda: b"hello" in transport.written)
        assert not transport.closed  # the client may still be sending
        await _until(lambda: transport.closed)

    asyncio.run(scenario())


@pytest.mark.usefixtures("restored_edge")
def test_body_answered_early_may_finish_and_the_connection_serve_on():
    edge.install_edge(header_timeout_s=3600)

    async def scenario():
        protocol, transport = _connect(asyncio.get_running_loop())
        head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
        protocol.data_received(head + b"123")
        await _until(lambda: b"hello" in transport.written)
        protocol.data_received(b"4567890")
        assert protocol._drain_timer is None
        assert protocol.timeout_keep_alive_task is not None  # idle, kept alive
        protocol.data_received(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        assert protocol.timeout_keep_alive_task is None
        await _until(lambda: transport.written.count(b"hello") == 2)
        assert not transport.closed

    asyncio.run(scenario())


@pytest.mark.usefixtures("restored_edge")
def test_connection_answered_after_the_whole_body_is_kept_alive():
    edge.install_edge(header_timeout_s=0.05)

    async def scenario():
        protocol, transport = _connect(asyncio.get_running_loop())
        head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"
        protocol.data_received(head + b"123")
        await _until(lambda: b"hello" in transport.written)
        assert protocol._drain_timer is None
        assert not transport.closed

    asyncio.run(scenario())


@pytest.mark.usefixtures("restored_edge")
def test_install_makes_the_edge_uvicorns_default_protocol():
    edge.install_edge(header_timeout_s=5)
    config = uvicorn.Config(app=_hello, log_config=None)
    config.load()
    assert config.http_protocol_class is edge.EdgeProtocol


@pytest.mark.usefixtures("restored_edge")
@pytest.mark.parametrize("seconds", [0, -1])
def test_head_timeout_must_be_positive(seconds):
    with pytest.raises(ValueError, match="header_timeout_s must be > 0"):
        edge.install_edge(header_timeout_s=seconds)


@pytest.mark.usefixtures("restored_edge")
def test_outer_app_is_built_once_per_server_around_uvicorns_app():
    built = []

    def outer(app, served):
        built.append(served)
        return ("outer", app)

    edge.install_edge(header_timeout_s=5, outer=outer)
    config = uvicorn.Config(app=_hello, log_config=None, lifespan="off")

    async def scenario():
        loop = asyncio.get_running_loop()
        first, _ = _connect(loop, config=config)
        second, _ = _connect(loop, config=config)
        assert first.app is second.app
        assert first.app == ("outer", config.loaded_app)

    asyncio.run(scenario())
    assert built == [_hello]


@pytest.mark.usefixtures("restored_edge")
def test_a_failing_outer_app_is_logged_and_left_out(caplog):
    def outer(app, served):
        raise RuntimeError("no routes")

    edge.install_edge(header_timeout_s=5, outer=outer)
    config = uvicorn.Config(app=_hello, log_config=None, lifespan="off")

    async def scenario():
        protocol, _ = _connect(asyncio.get_running_loop(), config=config)
        assert protocol.app is config.loaded_app

    with caplog.at_level(logging.ERROR, logger=edge.__name__):
        asyncio.run(scenario())
    assert "Cannot build the outer app" in caplog.text
