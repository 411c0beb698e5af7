"""Without redis-server on PATH the Redis tests skip with a reason; in CI they fail."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import ROOT

NEEDS_REDIS = '''
def test_uses_the_session_redis(redis_server):
    assert redis_server


def test_uses_a_restartable_redis(tmp_path):
    from tests.helpers.cluster import RedisServer

    RedisServer(tmp_path)
'''


def _run_without_redis(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess:
    test_file = tmp_path / "test_needs_redis.py"
    test_file.write_text(NEEDS_REDIS)
    empty_bin = tmp_path / "bin"  # PATH with no redis-server on it
    empty_bin.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    env["PATH"] = str(empty_bin)
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "tests.conftest",
         "-o", "timeout=120", str(test_file)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)


def test_redis_tests_skip_with_a_reason_when_redis_server_is_missing(tmp_path: Path):
    done = _run_without_redis(tmp_path, ci=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "2 skipped" in output, output
    assert "redis-server is not on PATH" in output, output
    assert "apt-get install redis-server" in output, output


def test_in_ci_a_missing_redis_server_fails_instead(tmp_path: Path):
    done = _run_without_redis(tmp_path, ci=True)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "redis-server is not on PATH" in output and "CI=true" in output, output
    assert "skipped" not in output.splitlines()[-1], output


@pytest.mark.parametrize("ci", ["true", "1"])
def test_ci_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, ci: str):
    from tests.services import in_ci

    monkeypatch.setenv("CI", ci)
    assert in_ci()
    monkeypatch.setenv("CI", "")
    assert not in_ci()
