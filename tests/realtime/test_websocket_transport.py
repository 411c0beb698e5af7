"""The websocket transport's unmasking, checked against RFC 6455's definition."""
from __future__ import annotations

import os

import pytest

from web.websocket_transport import apply_mask


def _by_definition(data: bytes, mask: bytes, length: int, offset: int) -> bytes:
    # RFC 6455, 5.3: octet i of the payload XOR octet (i MOD 4) of the masking key.
    return bytes(data[i] ^ mask[(offset + i) % 4] for i in range(length))


@pytest.mark.parametrize("length", [0, 1, 3, 4, 5, 126, 1000, 70_000])
@pytest.mark.parametrize("offset", [0, 1, 2, 3, 6])
def test_unmasking_matches_the_definition(length: int, offset: int) -> None:
    data, mask = os.urandom(length), os.urandom(4)
    assert apply_mask(data, mask, length, offset) == _by_definition(data, mask, length, offset)


def test_unmasking_takes_the_whole_payload_when_no_length_is_given() -> None:
    data, mask = os.urandom(37), os.urandom(4)
    assert apply_mask(data, mask) == _by_definition(data, mask, 37, 0)
    assert apply_mask(apply_mask(data, mask), mask) == data


def test_the_web_transport_uses_it(app) -> None:
    """Building the web app installs it, beside the Socket.IO server it serves."""
    from engineio.async_drivers import eventlet as eventlet_driver
    from eventlet.websocket import RFC6455WebSocket

    from web.websocket_transport import UncompressedWebSocket

    assert RFC6455WebSocket._apply_mask is apply_mask
    assert eventlet_driver._async["websocket"] is UncompressedWebSocket


def test_a_socket_events_context_reuses_its_connections_request_and_opens_no_session(app):
    import flask

    environ = {"PATH_INFO": "/socket.io/", "REQUEST_METHOD": "GET", "SERVER_NAME": "chat",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "HTTP_AUTHORIZATION": "Bearer t",
               "HTTP_COOKIE": "session=not-a-signed-cookie", "QUERY_STRING": "EIO=4"}
    seen = []
    for _ in range(2):
        with app.request_context(environ):
            seen.append(flask.request._get_current_object())
            assert flask.request.headers["Authorization"] == "Bearer t"
            assert dict(flask.session) == {}
    assert seen[0] is seen[1]
    # Any other request still gets a request of its own, matched against the URL map.
    http = dict(environ, PATH_INFO="/healthz")
    with app.request_context(http):
        first = flask.request._get_current_object()
        assert flask.request.url_rule is not None
    with app.request_context(http):
        assert flask.request._get_current_object() is not first
