"""The chat fixtures, shared with these tests (pytest finds fixtures through conftest only)."""
from tests.helpers.chat import (  # noqa: F401
    connect,
    customer,
    other_shop,
    shop,
    web_processes,
)
