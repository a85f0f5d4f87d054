"""uvicorn's protocol with a request-head timeout, and the quiet refusal log."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import pytest
import uvicorn
import uvicorn.config
from bentoml.exceptions import BentoMLException, InvalidArgument
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from serving.quiet_errors import (
    _FILTER,
    BENTOML_HTTP_LOGGER,
    quiet_validation_errors,
)
from uvicorn.server import ServerState

from serving import edge

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


class _Account(BaseModel):
    logins_30d: int = Field(ge=0)
    plan: str


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: list[_Account]


@pytest.fixture
def quiet():
    quiet_validation_errors()
    yield logging.getLogger(BENTOML_HTTP_LOGGER)
    logging.getLogger(BENTOML_HTTP_LOGGER).removeFilter(_FILTER)


def _log_refusal(logger: logging.Logger, error: Exception) -> None:
    """What BentoML's ``log_exception`` does for a failed request."""
    try:
        raise error
    except type(error):
        logger.error("Exception on %s [%s]", "/predict", "POST", exc_info=True)


def _validation_error(body: str) -> ValidationError:
    with pytest.raises(ValidationError) as raised:
        _Body.model_validate_json(body)
    return raised.value


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (
            '{"accounts": [{"logins_30d": -987654, "plan": "SECRET-PLAN"}]}',
            "1 validation error(s): accounts.0.logins_30d (greater_than_equal)",
        ),
        ('{"accounts": [{"logins_30d": "SECRET"}]}', "accounts.0.plan (missing)"),
        ('{"accounts": "SECRET"}', "accounts (list_type)"),
        ('{"accounts": [SECRET', "body (json_invalid)"),
    ],
)
def test_validation_error_is_one_warning_line_without_values(
    quiet, caplog, body, where
):
    with caplog.at_level(logging.INFO, logger=BENTOML_HTTP_LOGGER):
        _log_refusal(quiet, _validation_error(body))

    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    text = caplog.text
    assert "POST /predict refused (400)" in text
    assert where in text
    assert "SECRET" not in text
    assert "987654" not in text
    assert "Traceback" not in text
    assert "\n" not in record.getMessage()


@pytest.mark.parametrize(
    ("extra", "shown"),
    [("acounts", "acounts (extra_forbidden)"), ("bad key\nFAKE LINE", "? (extra")],
)
def test_made_up_keys_are_named_only_when_plain_names(quiet, caplog, extra, shown):
    body = {"accounts": [], extra: 1}
    with caplog.at_level(logging.INFO, logger=BENTOML_HTTP_LOGGER):
        _log_refusal(quiet, _validation_error(json.dumps(body)))

    message = caplog.records[0].getMessage()
    assert shown in message
    assert "FAKE" not in message


def test_long_error_lists_are_cut(quiet, caplog):
    body = {"accounts": [{"logins_30d": -1, "plan": "x"}] * 13}
    with caplog.at_level(logging.INFO, logger=BENTOML_HTTP_LOGGER):
        _log_refusal(quiet, _validation_error(json.dumps(body)))

    message = caplog.records[0].getMessage()
    assert "13 validation error(s)" in message
    assert message.endswith("accounts.9.logins_30d (greater_than_equal) and 3 more")


def test_other_4xx_is_one_warning_with_the_status(quiet, caplog):
    with caplog.at_level(logging.INFO, logger=BENTOML_HTTP_LOGGER):
        _log_refusal(quiet, InvalidArgument("bad SECRET input"))

    [record] = caplog.records
    assert (record.levelno, record.exc_info) == (logging.WARNING, None)
    assert record.getMessage() == "POST /predict refused (400)"


@pytest.mark.parametrize(
    "error", [RuntimeError("boom"), BentoMLException("internal")], ids=["any", "500"]
)
def test_server_errors_keep_their_traceback(quiet, caplog, error):
    with caplog.at_level(logging.INFO, logger=BENTOML_HTTP_LOGGER):
        _log_refusal(quiet, error)

    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[0] is type(error)
    assert sys.exc_info() == (None, None, None)
