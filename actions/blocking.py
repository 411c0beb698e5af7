"""Run CPU-bound calls (password hashing) off the eventlet hub when it is active."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_blocking(fn: Callable[..., T], *args: object) -> T:
    try:
        from eventlet import patcher, tpool
    except ImportError:  # pragma: no cover - eventlet is a dependency
        return fn(*args)
    if patcher.is_monkey_patched("thread"):
        return tpool.execute(fn, *args)
    return fn(*args)
