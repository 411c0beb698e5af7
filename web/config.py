"""Settings, read from the environment only; the defaults run the embedded mode."""
from __future__ import annotations

import os
import secrets
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _str(name: str, default: str | None = None) -> str | None:
    raw = os.environ.get(name, "").strip()
    return raw or default


def _flag(name: str, truthy: tuple[str, ...] = ("1", "true", "yes")) -> bool:
    return (_str(name) or "").lower() in truthy


def normalise_database_url(url: str) -> str:
    """Heroku still hands out postgres://, which SQLAlchemy 1.4+ no longer accepts."""
    if url.startswith("postgres://"):
        return "postgresql://" + url[len("postgres://") :]
    return url


def redis_ssl_options(url: str | None) -> dict | None:
    """Celery wants explicit TLS options for rediss:// unless the URL carries them."""
    if not url or not url.startswith("rediss://"):
        return None
    query = parse_qs(urlparse(url).query)
    if "ssl_cert_reqs" in query:
        return None
    mode = (_str("REDIS_SSL_CERT_REQS", "required") or "required").lower()
    reqs = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL}.get(mode, ssl.CERT_REQUIRED)
    return {"ssl_cert_reqs": reqs}


def _instance_dir() -> Path:
    path = Path(_str("INSTANCE_PATH", str(ROOT / "instance")))
    # It holds the generated signing key and, by default, the database with password hashes.
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _private_sqlite_file(database_url: str) -> None:
    """Create the SQLite file (and its folder) readable by this user only, before SQLite
    creates it with the umask's world-readable default; its WAL files follow its mode."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or ":memory:" in database_url:
        return
    path = Path(database_url[len(prefix):].split("?", 1)[0])
    if not path.name:
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        mode = path.stat().st_mode
        if mode & 0o077 and path.stat().st_uid == os.getuid():
            os.chmod(path, stat.S_IMODE(mode) & 0o700)


class WeakSecret(RuntimeError):
    """Raised at start-up: a deployment must not sign tokens with a guessable key."""


# Shorter than this, an HS256 key can be brute-forced from one token offline.
MIN_SECRET_BYTES = 32


def _example_secrets() -> set[str]:
    found = {"change-me-to-a-long-random-string"}  # in case .env.example is not deployed
    try:
        for line in (ROOT / ".env.example").read_text().splitlines():
            if line.startswith("JWT_SECRET_KEY="):
                found.add(line.split("=", 1)[1].strip())
    except OSError:
        pass
    return found


def _check_secret(secret: str, production: bool) -> None:
    if not production:
        return  # the embedded mode is a developer's machine; its default key is generated
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise WeakSecret(f"JWT_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes outside the "
                         "embedded mode; generate one with: python3 -c 'import secrets; "
                         "print(secrets.token_urlsafe(48))'")
    if secret in _example_secrets():
        raise WeakSecret("JWT_SECRET_KEY is the example value from .env.example; set a random "
                         "key of your own.")


def _jwt_secret(instance: Path) -> str:
    configured = _str("JWT_SECRET_KEY")
    if configured:
        return configured
    key_file = instance / "jwt_secret"
    if not key_file.exists():
        # Written once and reused, so tokens survive a restart of the embedded mode.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def _scaled(spec: str, factor: int) -> str:
    """`20/minute` times 5 is `100/minute` (the `limits` syntax: amount/[n] unit)."""
    amount, _, period = spec.partition("/")
    return f"{int(amount.strip()) * factor}/{period.strip()}"


@dataclass
class Settings:
    instance_path: Path
    database_url: str
    redis_url: str | None
    jwt_secret_key: str
    jwt_algorithm: str
    access_token_minutes: int
    refresh_token_days: int
    port: int
    cors_allowed_origins: list[str] | str | None
    max_message_chars: int
    max_upload_mb: int
    max_json_kb: int
    upload_dir: Path
    async_mode: str
    rate_limit_messages: str
    rate_limit_auth: str
    rate_limit_auth_ip: str
    rate_limit_register: str
    rate_limit_socket_events: str
    max_rooms_per_socket: int
    forwarded_proxies: int
    staff_absent_minutes: int
    escalation_reminder_minutes: int
    typing_expiry_ms: int
    log_level: str
    log_json: bool
    # Prefix of the Socket.IO message queue's Redis channels (the Redis db number is added).
    socketio_channel: str = "bookingchat"
    # Serve GET /_debug/socket-queue (the message queue's counters); for tests and debugging.
    socketio_debug_counters: bool = False
    # The Celery broker: CELERY_BROKER_URL, else REDIS_URL; None is the embedded mode, where
    # tasks run in-process.
    broker_url: str | None = None
    # Seconds before a task held by a dead worker is handed out again.
    celery_visibility_timeout: int = 600
    # The web process's listening address and its server's connection cap (eventlet's own
    # default is 1,024; a chat server needs far more).
    host: str = "0.0.0.0"
    web_max_connections: int = 20000
    # Apply migrations when the web process starts (the release phase normally does it).
    auto_migrate: bool = False
    # One log line per HTTP request from the web server.
    access_log: bool = False

    @property
    def embedded(self) -> bool:
        return self.redis_url is None

    @classmethod
    def from_env(cls) -> Settings:
        instance = _instance_dir()
        origins = _str("CORS_ALLOWED_ORIGINS")
        cors: list[str] | str | None
        if origins == "*":
            cors = "*"
        elif origins:
            cors = [o.strip() for o in origins.split(",") if o.strip()]
        else:
            cors = None  # Flask-SocketIO's default: the server's own origin
        database_url = normalise_database_url(
            _str("DATABASE_URL", f"sqlite:///{instance / 'chat.db'}"))
        _private_sqlite_file(database_url)
        redis_url = _str("REDIS_URL")
        # Login attempts per account from one address; the per-address limits scale from it.
        rate_limit_auth = _str("RATE_LIMIT_AUTH", "20/minute")
        jwt_secret = _jwt_secret(instance)
        # Production is anything but the embedded quick start: Redis, or APP_ENV=production.
        _check_secret(jwt_secret, production=bool(redis_url) or _str("APP_ENV") == "production")
        return cls(
            instance_path=instance,
            database_url=database_url,
            redis_url=redis_url,
            jwt_secret_key=jwt_secret,
            jwt_algorithm=_str("JWT_ALGORITHM", "HS256"),
            access_token_minutes=_int("JWT_ACCESS_TOKEN_MINUTES", 15),
            refresh_token_days=_int("JWT_REFRESH_TOKEN_DAYS", 30),
            port=_int("PORT", 5000),
            cors_allowed_origins=cors,
            max_message_chars=_int("MAX_MESSAGE_CHARS", 4000),
            max_upload_mb=_int("MAX_UPLOAD_MB", 10),
            max_json_kb=_int("MAX_JSON_KB", 256),
            upload_dir=Path(_str("UPLOAD_DIR", str(instance / "uploads"))),
            async_mode=_str("ASYNC_MODE", "eventlet"),
            rate_limit_messages=_str("RATE_LIMIT_MESSAGES", "30/10 seconds"),
            rate_limit_auth=rate_limit_auth,
            rate_limit_auth_ip=_str("RATE_LIMIT_AUTH_IP", _scaled(rate_limit_auth, 5)),
            rate_limit_register=_str("RATE_LIMIT_REGISTER", rate_limit_auth),
            rate_limit_socket_events=_str("RATE_LIMIT_SOCKET_EVENTS", "60/10 seconds"),
            max_rooms_per_socket=_int("MAX_ROOMS_PER_SOCKET", 200),
            forwarded_proxies=_int("FORWARDED_PROXIES", 0),
            staff_absent_minutes=_int("STAFF_ABSENT_MINUTES", 30),
            escalation_reminder_minutes=_int("ESCALATION_REMINDER_MINUTES", 15),
            typing_expiry_ms=_int("TYPING_EXPIRY_MS", 6000),
            log_level=_str("LOG_LEVEL", "INFO"),
            log_json=_str("LOG_FORMAT", "text") == "json",
            socketio_channel=_str("SOCKETIO_CHANNEL", "bookingchat"),
            socketio_debug_counters=_flag("SOCKETIO_DEBUG_COUNTERS"),
            broker_url=(_str("CELERY_BROKER_URL") or redis_url) if redis_url else None,
            celery_visibility_timeout=_int("CELERY_VISIBILITY_TIMEOUT", 600),
            host=_str("HOST", "0.0.0.0"),
            web_max_connections=_int("WEB_MAX_CONNECTIONS", 20000),
            auto_migrate=_flag("AUTO_MIGRATE"),
            access_log=_flag("ACCESS_LOG", truthy=("1", "true")),
        )
