"""Chat fixtures: quiet businesses (no bot replies), a customer, test sockets and real web
processes on the session database (defined in tests/helpers/chat.py, which tests/security
shares)."""
from tests.helpers.chat import (  # noqa: F401
    connect,
    customer,
    other_shop,
    shop,
    web_processes,
)
