"""Real processes for tests: a free port, start, stop, wait until they answer, and a small
JSON client for their REST API. Used by the live-stack tests and the chat concurrency tests."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def output(self, limit: int = 20_000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return text if len(text) <= limit else "...\n" + text[-limit:]


def start_process(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Process:
    """Start ``args`` from the repository root with stdout and stderr in ``<name>.log``."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                 stdout=log, stderr=subprocess.STDOUT)
    return Process(name, popen, log_path)


def stop_process(process: Process, timeout: float = STOP_TIMEOUT) -> None:
    """Ask the process to stop (SIGTERM); kill it if it has not within ``timeout``."""
    if not process.running:
        return
    process.popen.terminate()
    try:
        process.popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.popen.kill()
        process.popen.wait(timeout=timeout)


def describe(processes: list[Process]) -> str:
    return "\n".join(
        f"----- {p.name} (exit code {p.popen.poll()}) -----\n{p.output()}" for p in processes
    )


def wait_for_url(url: str, processes: list[Process], timeout: float = STARTUP_TIMEOUT) -> None:
    """Poll ``url`` until it answers 200; fail early if one of ``processes`` exits."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        dead = [p for p in processes if not p.running]
        if dead:
            pytest.fail(f"{', '.join(p.name for p in dead)} exited during start-up\n"
                        + describe(processes))
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == 200:
                return
            last_error = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            last_error = type(exc).__name__
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {timeout:.0f} s ({last_error})\n"
                + describe(processes))


def run_command(args: list[str], env: dict[str, str], timeout: float = 120.0) -> None:
    done = subprocess.run(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed ({done.returncode})\n{done.stdout}\n{done.stderr}")


class Api:
    """A small JSON client for the stack's REST API."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def call(self, method: str, path: str, token: str | None = None, json: object = None,
             expect: int | tuple[int, ...] | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.request(method, self.base_url + path, json=json, headers=headers,
                                     timeout=15)
        if expect is not None:
            allowed = expect if isinstance(expect, tuple) else (expect,)
            assert response.status_code in allowed, (method, path, response.status_code,
                                                     response.text)
        return response.json() if response.content else {}

    def register(self, name: str = "E2E User") -> dict:
        email = f"e2e-{uuid.uuid4().hex[:12]}@example.com"
        return self.call("POST", "/api/auth/register", expect=201,
                         json={"email": email, "password": "correct-horse-battery",
                               "name": name})

    def business(self, name: str = "E2E Studio", **fields: object) -> tuple[dict, str]:
        """A new business and its owner's access token."""
        founder = self.register(name=f"Owner of {name}")
        body = self.call("POST", "/api/businesses", token=founder["access_token"], expect=201,
                         json={"name": name, "timezone": "UTC", **fields})
        return body["business"], body["access_token"]
