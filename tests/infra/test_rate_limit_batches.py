"""The Redis moving window that sends concurrent hits as one pipeline."""
from __future__ import annotations

import threading

import pytest
import redis
from limits import parse

from infra.rate_limits import RedisWindow


@pytest.fixture
def window(redis_server: str):
    client = redis.Redis.from_url(redis_server)
    client.flushdb()
    yield RedisWindow(redis_server)
    client.flushdb()


def _hit_together(window: RedisWindow, spec: str, key: str, n: int) -> list[float | None]:
    item = parse(spec)
    start = threading.Barrier(n)
    answers: list[float | None] = [None] * n

    def one(i: int) -> None:
        start.wait()
        answers[i] = window.hit(item, key)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_concurrent_hits_allow_exactly_the_limit_and_tell_the_rest_when_to_retry(window):
    answers = _hit_together(window, "5/minute", "send:1", 12)
    allowed = [a for a in answers if a is None]
    refused = [a for a in answers if a is not None]
    assert len(allowed) == 5
    assert len(refused) == 7
    assert all(0 < wait <= 60 for wait in refused)


def test_hits_were_batched_into_fewer_round_trips_than_hits(window, monkeypatch):
    sizes: list[int] = []
    send = window._pipeline

    def counted(batch, now):  # noqa: ANN001, ANN202
        sizes.append(len(batch))
        return send(batch, now)

    monkeypatch.setattr(window, "_pipeline", counted)
    _hit_together(window, "1000/minute", "send:2", 40)
    assert sum(sizes) == 40
    assert len(sizes) < 40


def test_two_processes_windows_share_one_count(window, redis_server):
    other = RedisWindow(redis_server)  # another process's window, same Redis
    item = parse("3/minute")
    assert window.hit(item, "send:3") is None
    assert other.hit(item, "send:3") is None
    assert window.hit(item, "send:3") is None
    assert other.hit(item, "send:3") is not None
    assert window.hit(item, "send:4") is None  # another key has its own count


def test_a_flushed_script_cache_is_loaded_again(window, redis_server):
    item = parse("2/minute")
    assert window.hit(item, "send:5") is None
    redis.Redis.from_url(redis_server).script_flush()
    assert window.hit(item, "send:5") is None
    assert window.hit(item, "send:5") is not None


def test_redis_away_fails_every_hit_of_the_batch_with_its_connection_error():
    from tests.processes import free_port  # noqa: PLC0415

    away = RedisWindow(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(redis.exceptions.ConnectionError):
        away.hit(parse("5/minute"), "send:6")
