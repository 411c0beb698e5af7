"""Settings from the environment (CONTRACT "Processes and configuration")."""
from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest

from web.config import Settings, normalise_database_url, redis_ssl_options

SETTING_VARS = [
    "DATABASE_URL", "REDIS_URL", "JWT_SECRET_KEY", "JWT_ALGORITHM", "PORT",
    "CORS_ALLOWED_ORIGINS", "MAX_MESSAGE_CHARS", "MAX_UPLOAD_MB", "MAX_JSON_KB", "UPLOAD_DIR",
    "ASYNC_MODE", "REDIS_SSL_CERT_REQS", "LOG_LEVEL", "LOG_FORMAT",
    "JWT_ACCESS_TOKEN_MINUTES", "JWT_REFRESH_TOKEN_DAYS", "HOST", "WEB_MAX_CONNECTIONS",
    "AUTO_MIGRATE", "ACCESS_LOG", "SOCKETIO_DEBUG_COUNTERS",
]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """An environment with none of the settings set and a private instance directory."""
    for name in SETTING_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    return monkeypatch


# --------------------------------------------------------------------------- database URL


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example.com:5432/app", "postgresql://u:p@db.example.com:5432/app"),
        ("postgresql://u:p@db.example.com/app", "postgresql://u:p@db.example.com/app"),
        ("postgresql+psycopg2://u@h/app", "postgresql+psycopg2://u@h/app"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_normalise_database_url(given: str, expected: str):
    assert normalise_database_url(given) == expected


def test_heroku_postgres_url_from_the_environment(env):
    env.setenv("DATABASE_URL", "postgres://u:secret@db.example.com:5432/app")
    assert Settings.from_env().database_url == "postgresql://u:secret@db.example.com:5432/app"


def test_default_database_is_a_sqlite_file_in_the_instance_dir(env, tmp_path: Path):
    settings = Settings.from_env()
    assert settings.database_url == f"sqlite:///{tmp_path / 'instance' / 'chat.db'}"
    assert settings.instance_path == tmp_path / "instance"
    assert settings.instance_path.is_dir()


# --------------------------------------------------------------------------- Redis TLS


def test_redis_without_tls_has_no_ssl_options():
    assert redis_ssl_options(None) is None
    assert redis_ssl_options("redis://localhost:6379/0") is None


def test_rediss_requires_certificates_by_default(env):
    assert redis_ssl_options("rediss://:pw@redis.example.com:6380/0") == {
        "ssl_cert_reqs": ssl.CERT_REQUIRED}


@pytest.mark.parametrize(("mode", "expected"), [("none", ssl.CERT_NONE),
                                                ("optional", ssl.CERT_OPTIONAL),
                                                ("required", ssl.CERT_REQUIRED)])
def test_rediss_cert_mode_from_the_environment(env, mode: str, expected: int):
    env.setenv("REDIS_SSL_CERT_REQS", mode)
    assert redis_ssl_options("rediss://redis.example.com:6380/0") == {"ssl_cert_reqs": expected}


def test_rediss_url_that_carries_its_own_cert_mode_needs_no_options(env):
    assert redis_ssl_options("rediss://redis.example.com:6380/0?ssl_cert_reqs=none") is None


def _celery_for(env, **variables: str):
    from flask import Flask

    from workers.celery_app import celery_init_app

    env.setenv("JWT_SECRET_KEY", "k" * 48)
    for name, value in variables.items():
        env.setenv(name, value)
    flask_app = Flask("config-test")
    flask_app.config["SETTINGS"] = Settings.from_env()
    return celery_init_app(flask_app)


def test_celery_uses_tls_options_for_a_rediss_broker(env):
    url = "rediss://:pw@redis.example.com:6380/0"
    env.delenv("REDIS_SSL_CERT_REQS", raising=False)
    celery_app = _celery_for(env, REDIS_URL=url)
    assert celery_app.conf.broker_url == url
    assert celery_app.conf.broker_use_ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    assert celery_app.conf.task_always_eager is False
    assert celery_app.conf.broker_transport_options["visibility_timeout"] == 600


def test_broker_may_differ_from_the_message_queue(env):
    celery_app = _celery_for(env, REDIS_URL="redis://127.0.0.1:1/0",
                             CELERY_BROKER_URL="redis://127.0.0.1:2/3",
                             CELERY_VISIBILITY_TIMEOUT="42")
    assert celery_app.conf.broker_url == "redis://127.0.0.1:2/3"
    assert celery_app.conf.broker_use_ssl is None
    assert celery_app.conf.broker_transport_options["visibility_timeout"] == 42


def test_without_redis_tasks_run_in_process(env):
    env.delenv("REDIS_URL", raising=False)
    celery_app = _celery_for(env, CELERY_BROKER_URL="redis://127.0.0.1:2/3")
    assert celery_app.conf.task_always_eager is True


# --------------------------------------------------------------------------- defaults


def test_defaults_run_the_embedded_mode(env):
    settings = Settings.from_env()
    assert settings.max_message_chars == 4000
    assert settings.max_upload_mb == 10
    assert settings.max_json_kb == 256
    assert settings.port == 5000
    assert settings.redis_url is None
    assert settings.embedded is True
    assert settings.jwt_algorithm == "HS256"
    assert settings.async_mode == "eventlet"
    assert settings.cors_allowed_origins is None
    assert settings.host == "0.0.0.0"
    assert settings.web_max_connections == 20000
    assert settings.auto_migrate is False
    assert settings.access_log is False
    assert settings.socketio_debug_counters is False


def test_web_server_settings_from_the_environment(env):
    env.setenv("HOST", "127.0.0.1")
    env.setenv("WEB_MAX_CONNECTIONS", "5000")
    env.setenv("AUTO_MIGRATE", "yes")
    env.setenv("ACCESS_LOG", "TRUE")
    env.setenv("SOCKETIO_DEBUG_COUNTERS", "1")
    settings = Settings.from_env()
    assert (settings.host, settings.web_max_connections) == ("127.0.0.1", 5000)
    assert settings.auto_migrate is True
    assert settings.access_log is True
    assert settings.socketio_debug_counters is True


@pytest.mark.parametrize("raw", ["0", "false", "no", "on", ""])
def test_switches_are_off_unless_set_to_true(env, raw: str):
    env.setenv("AUTO_MIGRATE", raw)
    env.setenv("ACCESS_LOG", raw)
    settings = Settings.from_env()
    assert settings.auto_migrate is False
    assert settings.access_log is False


def test_environment_overrides(env, tmp_path: Path):
    env.setenv("MAX_MESSAGE_CHARS", "500")
    env.setenv("MAX_UPLOAD_MB", "3")
    env.setenv("MAX_JSON_KB", "64")
    env.setenv("PORT", "8123")
    env.setenv("REDIS_URL", "redis://cache.example.com:6379/2")
    env.setenv("JWT_SECRET_KEY", "configured-secret-key-that-is-long-enough")
    env.setenv("UPLOAD_DIR", str(tmp_path / "files"))
    settings = Settings.from_env()
    assert settings.max_message_chars == 500
    assert settings.max_upload_mb == 3
    assert settings.max_json_kb == 64
    assert settings.port == 8123
    assert settings.redis_url == "redis://cache.example.com:6379/2"
    assert settings.embedded is False
    assert settings.jwt_secret_key == "configured-secret-key-that-is-long-enough"
    assert settings.upload_dir == tmp_path / "files"


def test_blank_values_fall_back_to_defaults(env):
    env.setenv("MAX_MESSAGE_CHARS", "  ")
    env.setenv("REDIS_URL", "")
    settings = Settings.from_env()
    assert settings.max_message_chars == 4000
    assert settings.redis_url is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("https://a.example.com, https://b.example.com,",
      ["https://a.example.com", "https://b.example.com"]),
     ("*", "*")],
)
def test_cors_origins(env, raw: str, expected: object):
    env.setenv("CORS_ALLOWED_ORIGINS", raw)
    assert Settings.from_env().cors_allowed_origins == expected


def test_upload_limit_reaches_the_app(app):
    assert app.config["MAX_CONTENT_LENGTH"] >= app.config["SETTINGS"].max_upload_mb * 1024 * 1024


# --------------------------------------------------------------------------- JWT secret


def test_jwt_secret_is_generated_once_and_reused(env, tmp_path: Path):
    key_file = tmp_path / "instance" / "jwt_secret"
    assert not key_file.exists()
    first = Settings.from_env().jwt_secret_key
    assert key_file.exists()
    assert len(first) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Settings.from_env().jwt_secret_key == first
    assert key_file.read_text().strip() == first


def test_jwt_secret_differs_per_instance_dir(env, tmp_path: Path):
    first = Settings.from_env().jwt_secret_key
    env.setenv("INSTANCE_PATH", str(tmp_path / "other"))
    assert Settings.from_env().jwt_secret_key != first


def test_configured_jwt_secret_writes_no_file(env, tmp_path: Path):
    env.setenv("JWT_SECRET_KEY", "configured-secret-key-that-is-long-enough")
    assert Settings.from_env().jwt_secret_key == "configured-secret-key-that-is-long-enough"
    assert not (tmp_path / "instance" / "jwt_secret").exists()


def test_bench_serves_every_queue_the_workers_declare() -> None:
    from bench.targets import ALL_QUEUES as BENCH_QUEUES
    from celeryconfig import ALL_QUEUES

    assert BENCH_QUEUES == ALL_QUEUES


def test_every_queue_has_a_procfile_worker_and_every_task_a_queue() -> None:
    import re
    from pathlib import Path

    import celeryconfig

    procfile = (Path(__file__).resolve().parent.parent / "Procfile").read_text()
    served = {queue for match in re.finditer(r"celery .* worker .*-Q (\S+)", procfile)
              for queue in match.group(1).split(",")}
    declared = {queue.name for queue in celeryconfig.task_queues}
    assert served == declared
    # Automation and notifications are served by different process types.
    kinds = {line.split(":", 1)[0]: line for line in procfile.splitlines() if "-Q " in line}
    automation = [kind for kind, line in kinds.items() if "automation" in line.split("-Q ")[1]]
    notifications = [kind for kind, line in kinds.items()
                     if "notifications" in line.split("-Q ")[1].split()[0]]
    assert automation and notifications and set(automation).isdisjoint(notifications)
