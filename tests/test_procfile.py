"""The Procfile under honcho: `web` listens on $PORT and says so (issue 13, item 1).

honcho and foreman give the n-th process type of the Procfile PORT + 100·n, so web must
come first. The test starts the real `honcho start` on the real Procfile; the other types
get a concurrency of 0, which starts none of them but still counts their place in the
port arithmetic, exactly as a full start does.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import requests

from tests.processes import BIN, ROOT, free_port

PROCESS_TYPES = ("web", "release", "worker", "notifier", "beat", "flower")


def _procfile() -> list[tuple[str, str]]:
    entries = []
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            entries.append((name.strip(), command.strip()))
    return entries


def test_web_is_the_first_process_type():
    names = [name for name, _ in _procfile()]
    assert names[0] == "web"
    assert set(PROCESS_TYPES) <= set(names)
    assert dict(_procfile())["web"] == "python -m web.serve"


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The parent pid is the second field after the parenthesised command name.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _stop(honcho: subprocess.Popen, children: list[int]) -> None:
    if honcho.poll() is None:
        honcho.send_signal(signal.SIGTERM)  # honcho stops the processes it started
        try:
            honcho.wait(timeout=20)
        except subprocess.TimeoutExpired:
            honcho.kill()
            honcho.wait(timeout=10)
    for child in children:  # each runs in a session of its own: stop what is left of it
        try:
            os.killpg(child, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def test_honcho_start_puts_web_on_port(tmp_path: Path):
    port = free_port()
    empty_env_file = tmp_path / "empty.env"  # not the developer's own .env
    empty_env_file.write_text("")
    others = ",".join(f"{name}=0" for name, _ in _procfile() if name != "web")
    env = {
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "PORT": str(port),
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "LOG_LEVEL": "WARNING",  # the start-up line shows whatever the level
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
    }
    log_path = tmp_path / "honcho.log"
    with log_path.open("wb") as log:
        honcho = subprocess.Popen(
            [str(BIN / "honcho"), "start", "--no-colour", "-f", str(ROOT / "Procfile"),
             "-d", str(ROOT), "-e", str(empty_env_file), "-c", others],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    children: list[int] = []
    try:
        deadline = time.monotonic() + 90
        answered = None
        while time.monotonic() < deadline and honcho.poll() is None:
            children = sorted(set(children) | set(_children(honcho.pid)))
            try:
                answered = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.3)
        output = log_path.read_text(errors="replace")
        assert answered is not None and answered.status_code == 200, output
        assert answered.json()["status"] == "ok"
        # The one line that tells an operator where web listens, in which mode, which version.
        deadline = time.monotonic() + 10
        line = None
        while line is None and time.monotonic() < deadline:
            output = log_path.read_text(errors="replace")
            line = re.search(r"web\.1\s*\|.*web listening on 0\.0\.0\.0:(\d+) .*mode (\w+), "
                             r"version ([\w.]+)", output)
            time.sleep(0.1)
        assert line is not None, output
        assert (line[1], line[2], line[3]) == (str(port), "embedded", "1.0.0")
        assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    finally:
        _stop(honcho, children)


def test_the_start_line_names_the_full_mode(app, monkeypatch):
    from dataclasses import replace

    from web.startup import start_line

    full = replace(app.config["SETTINGS"], redis_url="redis://127.0.0.1:6379/0")
    monkeypatch.setitem(app.config, "SETTINGS", full)
    text, fields = start_line(app, "0.0.0.0", 8123)
    assert text.startswith("web listening on 0.0.0.0:8123 (http://localhost:8123/), mode full, "
                           "version 1.0.0")
    assert fields == {"address": "0.0.0.0:8123", "mode": "full", "version": "1.0.0"}
