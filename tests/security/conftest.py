"""The chat fixtures, shared with these tests (pytest finds fixtures through conftest only)."""
from tests.chat.conftest import (  # noqa: F401
    connect,
    customer,
    other_shop,
    shop,
    web_processes,
)
