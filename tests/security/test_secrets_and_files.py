"""Item 10: no start in production with a weak or example JWT secret; private database files."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.test_config import SETTING_VARS
from web.config import ROOT, Settings, WeakSecret

EXAMPLE_SECRET = next(
    line.split("=", 1)[1].strip()
    for line in (ROOT / ".env.example").read_text().splitlines()
    if line.startswith("JWT_SECRET_KEY="))
STRONG = "a-configured-secret-key-that-is-long-enough"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in [*SETTING_VARS, "APP_ENV"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    return monkeypatch


@pytest.mark.parametrize("secret", ["x", "short-secret", "a" * 31, EXAMPLE_SECRET],
                         ids=["one-char", "short", "31-bytes", "env-example"])
@pytest.mark.parametrize("production", ["redis", "app-env"])
def test_weak_secret_is_refused_outside_the_embedded_mode(env, secret: str, production: str):
    if production == "redis":
        env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    else:
        env.setenv("APP_ENV", "production")
    env.setenv("JWT_SECRET_KEY", secret)
    with pytest.raises(WeakSecret, match="JWT_SECRET_KEY"):
        Settings.from_env()


def test_the_web_process_refuses_to_start_with_the_example_secret(env, tmp_path: Path):
    import subprocess
    import sys

    env.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    env.setenv("JWT_SECRET_KEY", EXAMPLE_SECRET)
    env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    result = subprocess.run([sys.executable, "-c", "from web.app import create_app; create_app()"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ})
    assert result.returncode != 0
    assert "JWT_SECRET_KEY" in result.stderr


@pytest.mark.parametrize("production", ["redis", "app-env"])
def test_a_strong_secret_is_accepted_outside_the_embedded_mode(env, production: str):
    if production == "redis":
        env.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    else:
        env.setenv("APP_ENV", "production")
    env.setenv("JWT_SECRET_KEY", STRONG)
    assert Settings.from_env().jwt_secret_key == STRONG


def test_the_embedded_mode_still_takes_a_short_secret(env):
    env.setenv("JWT_SECRET_KEY", "dev")
    assert Settings.from_env().jwt_secret_key == "dev"


def test_generated_secret_is_fine_in_production(env):
    env.setenv("APP_ENV", "production")
    assert len(Settings.from_env().jwt_secret_key) >= 32


def test_instance_dir_and_database_file_are_private(env, tmp_path: Path):
    settings = Settings.from_env()
    instance = tmp_path / "instance"
    assert stat.S_IMODE(instance.stat().st_mode) == 0o700
    database = instance / "chat.db"
    assert settings.database_url == f"sqlite:///{database}"
    assert database.exists()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_database_file_elsewhere_is_private_and_sqlite_keeps_it_so(env, tmp_path: Path):
    import sqlite3

    database = tmp_path / "data" / "chat.db"
    env.setenv("DATABASE_URL", f"sqlite:///{database}")
    Settings.from_env()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
    conn = sqlite3.connect(database)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    for path in database.parent.iterdir():  # the WAL and shared-memory files follow the file
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
    conn.close()


def test_a_world_readable_database_file_is_made_private(env, tmp_path: Path):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    database = instance / "chat.db"
    database.touch(mode=0o644)
    os.chmod(database, 0o644)
    Settings.from_env()
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
