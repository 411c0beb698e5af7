"""Start/stop the servers under test and create the app's bench accounts and rooms.

Everything here talks to 127.0.0.1 only, and every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
# Every queue of celeryconfig.task_queues, for a worker that serves them all.
ALL_QUEUES = "automation,notifications,light"
BENCH = Path(__file__).resolve().parent
PASSWORD = "bench-password-123"
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PROBLEM = re.compile(r"\b(WARNING|ERROR|CRITICAL|Traceback)\b|\w(Error|Exception): ")
_NOT_A_PROBLEM = re.compile(r"DeprecationWarning|SecurityWarning")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d[ T][\d:,.]+\s*")


class TargetError(RuntimeError):
    """The server under test could not be started or set up."""


def venv_bin(name: str) -> str:
    path = REPO / ".venv" / "bin" / name
    if path.exists():
        return str(path)
    return str(Path(sys.executable).parent / name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class ServerProc:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, lines: int = 25) -> str:
        return _tail(self.log, lines)

    def problems(self) -> Counter[str]:
        """Error-looking log lines, timestamps cut so repeats add up; Python's start-up
        warnings (eventlet's deprecation, Celery running as root) are not problems."""
        found: Counter[str] = Counter()
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        for line in text.splitlines():
            if _PROBLEM.search(line) and not _NOT_A_PROBLEM.search(line):
                found[_TIMESTAMP.sub("", line).strip()[:240]] += 1
        return found

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        # The server runs in its own session, so its group id is its pid: this ends
        # exactly what we started and nothing else.
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def wait_healthy(self, timeout: float = 45.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise TargetError(
                    f"{self.name} exited with {self.proc.returncode}; log {self.log}:\n"
                    + _tail(self.log))
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except (urllib.error.URLError, OSError) as exc:
                last = str(exc)
            time.sleep(0.25)
        raise TargetError(f"{self.name} not healthy after {timeout:.0f}s ({last}); "
                          f"log {self.log}:\n{_tail(self.log)}")


def _spawn(name: str, cmd: list[str], env: dict[str, str], log: Path, port: int,
           cwd: Path = REPO) -> ServerProc:
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return ServerProc(name, proc, f"http://127.0.0.1:{port}", log)


def start_relay(tmpdir: Path) -> ServerProc:
    port = free_port()
    cmd = [venv_bin("python"), str(BENCH / "relay_baseline.py"), "--port", str(port)]
    srv = _spawn("relay", cmd, dict(os.environ), tmpdir / "relay.log", port)
    try:
        srv.wait_healthy()
    except BaseException:
        srv.stop()
        raise
    return srv


def check_app_present(root: Path = REPO) -> None:
    if not (root / "web" / "serve.py").exists():
        raise TargetError(
            f"--target app needs the project's web process, but {root / 'web' / 'serve.py'} "
            "does not exist yet. Run with --target relay, or wait for web/serve.py.")


def app_env(port: int, database_url: str, redis_url: str | None,
            extra: list[str]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    env.update({
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": database_url,
        # The per-user send limit would cap every sender long before the server does.
        "RATE_LIMIT_MESSAGES": "1000000/minute",
        # Setup makes ~2 logins/registrations per pair; the default 20/minute would stall it.
        "RATE_LIMIT_AUTH": "1000000/minute",
        "JWT_ACCESS_TOKEN_MINUTES": "120",
        "LOG_LEVEL": "WARNING",
    })
    if redis_url:
        env["REDIS_URL"] = redis_url
    for item in extra:
        key, sep, value = item.partition("=")
        if not sep:
            raise TargetError(f"--app-env expects KEY=VALUE, got {item!r}")
        env[key] = value
    return env


def upgrade_db(tmpdir: Path, env: dict[str, str], root: Path = REPO) -> None:
    """``flask --app web.app db upgrade`` against env's DATABASE_URL; log in tmpdir."""
    upgrade_log = tmpdir / "app-db-upgrade.log"
    with upgrade_log.open("wb") as fh:
        try:
            rc = subprocess.run(
                [venv_bin("flask"), "--app", "web.app", "db", "upgrade"], cwd=root, env=env,
                stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=180,
            ).returncode
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TargetError(f"flask db upgrade failed to run: {exc}") from exc
    if rc != 0:
        raise TargetError(f"flask db upgrade exited {rc}; log {upgrade_log}:\n"
                          + _tail(upgrade_log))


def start_web(tmpdir: Path, env: dict[str, str], root: Path = REPO,
              name: str = "app") -> ServerProc:
    """``python -m web.serve`` on env's PORT, returned once ``/healthz`` answers."""
    srv = _spawn(name, [venv_bin("python"), "-m", "web.serve"], env, tmpdir / f"{name}.log",
                 int(env["PORT"]), cwd=root)
    try:
        srv.wait_healthy(timeout=60)
    except BaseException:
        srv.stop()
        raise
    return srv


def start_app(tmpdir: Path, database_url: str, redis_url: str | None,
              extra_env: list[str], root: Path = REPO) -> ServerProc:
    check_app_present(root)
    env = app_env(free_port(), database_url, redis_url, extra_env)
    upgrade_db(tmpdir, env, root)
    return start_web(tmpdir, env, root)


def wait_tcp(srv: ServerProc, port: int, timeout: float) -> None:
    """Until something accepts on 127.0.0.1:port; fails early if the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if srv.proc.poll() is not None:
            raise TargetError(f"{srv.name} exited with {srv.proc.returncode}; log {srv.log}:\n"
                              + _tail(srv.log))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.3).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TargetError(f"{srv.name} did not listen on {port} within {timeout:.0f}s; "
                      f"log {srv.log}:\n{_tail(srv.log)}")


def start_redis(tmpdir: Path) -> ServerProc:
    """A throw-away redis-server on a free 127.0.0.1 port, no persistence; ``url`` is its
    ``redis://`` URL. Its own server keeps the bench off any Redis other people use."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise TargetError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", "--dir", str(tmpdir)]
    srv = _spawn("redis", cmd, dict(os.environ), tmpdir / "redis.log", port)
    srv.url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_tcp(srv, port, 10)
    except BaseException:
        srv.stop()
        raise
    return srv


def start_worker(tmpdir: Path, env: dict[str, str], concurrency: int = 2,
                 queues: str = ALL_QUEUES, root: Path = REPO,
                 name: str = "worker") -> ServerProc:
    """One prefork Celery worker, not waited for: it has no health endpoint, so callers
    confirm it by a first task. No gossip, mingle, heartbeats: broker chatter, one worker."""
    cmd = [venv_bin("celery"), "-A", "workers.entry", "worker", "-Q", queues,
           "-c", str(concurrency), "--pool", "prefork", "--loglevel=WARNING",
           "--without-gossip", "--without-mingle", "--without-heartbeat",
           "-n", f"bench-{secrets.token_hex(3)}@%h"]
    return _spawn(name, cmd, env, tmpdir / f"{name}.log", 0, cwd=root)


def cpu_by_pid(pgid: int | None = None, title: str | None = None) -> dict[int, float]:
    """User+system CPU seconds of each live process in group pgid (a server started here
    leads its own, so a Celery worker's pool children count too), or whose command line
    holds title (PostgreSQL titles each backend "postgres: ... <user> <db> <host> ...")."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if title is not None:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if title.encode() not in fh.read():
                        continue
            elif int(fields[2]) != pgid:
                continue
        except OSError:
            continue  # exited meanwhile
        found[int(entry)] = (int(fields[11]) + int(fields[12])) / _CLK_TCK
    return found


def api(base: str, method: str, path: str, body: dict[str, Any] | None = None,
        token: str | None = None) -> tuple[int, Any]:
    """One JSON request; 429s are retried a bounded number of times."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for _attempt in range(6):
        req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            if exc.code == 429:
                time.sleep(min(20.0, float(exc.headers.get("Retry-After") or 5)))
                continue
            try:
                return exc.code, json.loads(raw or b"null")
            except ValueError:
                return exc.code, raw[:300].decode(errors="replace")
    raise TargetError(f"{method} {path}: still rate limited (429) after retries; raise the "
                      "app's limit with --app-env KEY=VALUE")


def expect(result: tuple[int, Any], ok: tuple[int, ...], what: str) -> Any:
    status, body = result
    if status not in ok:
        raise TargetError(f"{what}: HTTP {status} {str(body)[:300]}")
    return body


def setup_app(base: str, pairs: int, rooms: str = "customer") -> list[dict[str, Any]]:
    """Owner + business, one staff member (receiver) and one sender per pair: a customer in
    its own room (rooms="customer": each message also enqueues the automation), or another
    staff member in a staff room (rooms="staff": the bare send path). Emails are unique per
    run so a reused database still works."""
    run = secrets.token_hex(4)

    def register(email: str, name: str) -> str:
        body = expect(api(base, "POST", "/api/auth/register",
                          {"email": email, "password": PASSWORD, "name": name}),
                      (200, 201), f"register {email}")
        return str(body["access_token"])

    owner = register(f"owner-{run}@bench.example", "Bench Owner")
    body = expect(api(base, "POST", "/api/businesses",
                      {"name": f"Bench {run}", "timezone": "UTC"}, owner),
                  (200, 201), "create business")
    business_id = body["business"]["id"]
    owner = body.get("access_token") or owner
    def add_staff(email: str, name: str) -> dict[str, Any]:
        expect(api(base, "POST", f"/api/businesses/{business_id}/staff",
                   {"email": email, "password": PASSWORD, "name": name}, owner),
               (200, 201), f"add staff {email}")
        return expect(api(base, "POST", "/api/auth/login",
                          {"email": email, "password": PASSWORD}), (200,), f"login {email}")

    specs = []
    for i in range(pairs):
        login = add_staff(f"staff{i}-{run}@bench.example", f"Staff {i}")
        if rooms == "staff":
            sender = add_staff(f"sender{i}-{run}@bench.example", f"Sender {i}")
            sender_token = str(sender["access_token"])
            body = {"type": "staff", "participant_ids": [login["user"]["id"]]}
        else:
            sender_token = register(f"cust{i}-{run}@bench.example", f"Customer {i}")
            body = {"business_id": business_id}
        room = expect(api(base, "POST", "/api/chat/rooms/create", body, sender_token),
                      (200, 201), f"create room for pair {i}")
        specs.append({"room_id": room["room"]["id"], "sender_token": sender_token,
                      "receiver_token": str(login["access_token"])})
    return specs


def wait_online(base: str, owner_token: str, user_ids: list[int],
                timeout: float = 10.0) -> None:
    """Until ``GET /api/monitoring/connections`` (owner) lists every one of user_ids."""
    deadline = time.monotonic() + timeout
    missing = set(user_ids)
    while time.monotonic() < deadline:
        body = expect(api(base, "GET", "/api/monitoring/connections", None, owner_token),
                      (200,), "GET /api/monitoring/connections")
        missing = set(user_ids) - set(body.get("online_user_ids", []))
        if not missing:
            return
        time.sleep(0.2)
    raise TargetError(f"users not online after {timeout:.0f}s: {sorted(missing)[:10]}")


def relay_specs(pairs: int) -> list[dict[str, Any]]:
    return [{"room_id": i + 1, "sender_token": f"relay-sender-{i}",
             "receiver_token": f"relay-receiver-{i}"} for i in range(pairs)]


def _pg_exec(server_url: str, sql: str) -> None:
    try:
        import psycopg2  # optional: falls back to psql
    except ImportError:
        subprocess.run(["psql", server_url, "-v", "ON_ERROR_STOP=1", "-qc", sql],
                       check=True, timeout=60, stdin=subprocess.DEVNULL)
        return
    conn = psycopg2.connect(server_url, connect_timeout=10)
    try:
        conn.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@contextmanager
def fresh_pg_database(server_url: str) -> Iterator[str]:
    """Create bench_<random> on the given PostgreSQL server, yield its URL, drop it."""
    parts = urlsplit(server_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise TargetError("--pg must point at a PostgreSQL server on this machine")
    name = f"bench_{secrets.token_hex(4)}"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    _pg_exec(admin_url, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        try:
            _pg_exec(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception as exc:  # leave a note rather than mask the run's own error
            print(f"warning: could not drop database {name}: {exc}", file=sys.stderr)
