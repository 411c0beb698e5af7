"""The outside programs some tests need, and what happens when one is missing.

On a developer's machine a missing program skips the tests that need it, with a reason
that says what to install. In CI (CI=true) it fails them instead: there a skip would hide
a broken setup behind a green run.
"""
from __future__ import annotations

import os
import shutil

import pytest

INSTALL_HINTS = {
    "redis-server": "apt-get install redis-server, or brew install redis",
    "chromium": "apt-get install chromium",
    "node": "apt-get install nodejs (Node.js 20 or newer)",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(program: str, needed_for: str) -> None:
    """Skip (fail in CI) the current test because ``program`` is not installed."""
    hint = INSTALL_HINTS.get(program)
    reason = (f"{program} is not on PATH, and {needed_for} need it"
              + (f" (install it: {hint})" if hint else ""))
    if in_ci():
        pytest.fail(f"{reason}; CI=true, so this fails instead of skipping")
    pytest.skip(reason)


def redis_server_binary() -> str:
    """The redis-server program the Redis tests start on a free port of their own."""
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server", "the tests that use Redis")
    return binary
