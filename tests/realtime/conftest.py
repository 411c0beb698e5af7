"""Real web processes on a private redis-server that a test may restart, for the Socket.IO
message queue's tests. Each module gets its own redis-server, database and web processes,
all on loopback, and stops them when it ends (their parts are in tests/helpers/cluster.py)."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cluster import Cluster, start_cluster, stop_cluster
from tests.helpers.databases import fresh_database


@pytest.fixture(scope="module")
def realtime_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(tmp_path_factory.mktemp("realtime-db")) as url:
        yield url


@pytest.fixture(scope="module")
def cluster(realtime_database: str) -> Iterator[Cluster]:
    """Web processes a and b on db 1 of a private redis-server."""
    tmp = Path(tempfile.mkdtemp(prefix="realtime-"))
    started = start_cluster(tmp, realtime_database)
    try:
        yield started
    finally:
        stop_cluster(started)
        shutil.rmtree(tmp, ignore_errors=True)
