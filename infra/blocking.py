"""Run CPU-bound calls (password hashing) off the eventlet hub when it is active."""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_blocking(fn: Callable[..., T], *args: object) -> T:
    if "eventlet" not in sys.modules:  # only the web entry point imports and patches it
        return fn(*args)
    from eventlet import patcher, tpool

    if patcher.is_monkey_patched("thread"):
        return tpool.execute(fn, *args)
    return fn(*args)
