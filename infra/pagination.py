"""Newest-first cursor pages (before_id), shared by the audit log and notification lists."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy import Select

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    return max(1, min(int(limit), MAX_LIMIT))


def newest_first(query: Select, id_column, before_id: int | None, limit: int,
                 fetch: Callable[[Select], Sequence[T]],
                 id_of: Callable[[T], int]) -> tuple[list[T], int | None]:
    """One page below before_id, id descending; the cursor of the next page or None."""
    if before_id is not None:
        query = query.where(id_column < before_id)
    rows = list(fetch(query.order_by(id_column.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (id_of(rows[-1]) if more and rows else None)
