"""The chat fixtures, shared with these tests (pytest finds fixtures through conftest only)."""
from tests.chat.conftest import (  # noqa: F401
    connect,
    customer,
    other_shop,
    shop,
    web_processes,
)
from tests.test_socket_connect import presence_store  # noqa: F401,E402
