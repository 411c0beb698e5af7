"""`/docs` renders in headless Chromium with the network cut off (issue 13, item 3).

Chromium resolves no host name but 127.0.0.1 and sends everything else to a proxy that is
not there, so an asset from a CDN would not load and Swagger UI would stay blank. Its
network log then shows every request the page made: all of them must go to this server.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.processes import BIN, free_port, start_process, stop_process, wait_for_url
from tests.services import missing

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--no-first-run", "--disable-component-update", "--disable-sync",
    # The network cut off: no name resolves but the loopback address, and whatever is not
    # loopback goes to a proxy that does not exist (loopback bypasses proxies).
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    missing("chromium", "the browser tests")
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def web_url(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("docs-browser")
    port = free_port()
    env = {**os.environ, "PORT": str(port), "INSTANCE_PATH": str(tmp / "instance"),
           "DATABASE_URL": f"sqlite:///{tmp / 'docs.db'}", "ASYNC_MODE": "eventlet",
           "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    env.pop("REDIS_URL", None)
    web = start_process("web", [str(BIN / "python"), "-m", "web.serve"], env, tmp)
    try:
        wait_for_url(f"http://127.0.0.1:{port}/healthz", [web])
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(web)


def _page_requests(net_log: Path, site: str) -> list[str]:
    """The URLs requested on behalf of pages of ``site`` (not Chromium's own traffic)."""
    text = net_log.read_text()
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # cut short when the browser quit: close the event list
        log = json.loads(text.rstrip().rstrip(",") + "]}")
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] == start_job and params.get("network_isolation_key", "").startswith(
                site):
            urls.append(params["url"])
    return urls


def test_docs_render_offline_in_chromium(web_url: str, tmp_path: Path):
    browser = chromium()
    net_log = tmp_path / "netlog.json"
    # A session of its own, so that the renderer and helper processes go with it.
    process = subprocess.Popen(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         f"--log-net-log={net_log}", "--virtual-time-budget=20000", "--dump-dom",
         f"{web_url}/docs"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        dom, errors = process.communicate(timeout=120)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    assert process.returncode == 0, errors[-3000:]
    # Swagger UI ran: it fetched the document and drew the title and the operations.
    assert 'class="title"' in dom and "Booking Chat API" in dom, dom[:3000]
    assert dom.count('class="opblock ') + dom.count('class="opblock-summary ') > 10
    assert "/api/auth/register" in dom
    requests_made = _page_requests(net_log, "http://127.0.0.1")
    assert f"{web_url}/docs/assets/swagger-ui-bundle.js" in requests_made
    assert f"{web_url}/openapi.json" in requests_made
    elsewhere = [url for url in requests_made if urlsplit(url).hostname != "127.0.0.1"]
    assert elsewhere == []
