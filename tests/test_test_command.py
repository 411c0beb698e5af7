"""bin/test, the README's test command: what it says and does when redis-server is missing."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.processes import ROOT
from tests.test_missing_services import NEEDS_REDIS


def _path_without(program: str, where: Path) -> str:
    """A PATH with every program of the current one but ``program``."""
    where.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not Path(directory).is_dir():
            continue
        for entry in Path(directory).iterdir():
            target = where / entry.name
            if entry.name != program and not target.exists():
                target.symlink_to(entry)
    return str(where)


def test_bin_test_skips_the_redis_tests_and_says_why(tmp_path: Path):
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("bin/test runs the tests with .venv, which this checkout does not have")
    test_file = tmp_path / "test_needs_redis.py"
    test_file.write_text(NEEDS_REDIS)
    env = {key: value for key, value in os.environ.items()
           if key not in ("CI", "TEST_DATABASE", "DATABASE_URL")}
    env["PATH"] = _path_without("redis-server", tmp_path / "bin")
    done = subprocess.run(
        [str(ROOT / "bin" / "test"), "--no-install", "--sqlite", "-rs", "-p", "tests.conftest",
         str(test_file)],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "redis-server: not on PATH; the tests that use Redis will be skipped" in output
    assert "install it: apt-get install redis-server" in output
    assert "2 skipped" in output and "redis-server is not on PATH" in output, output
    assert "SQLite: passed" in output
