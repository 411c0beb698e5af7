"""The JavaScript client library's own tests (node --test clients/js/test) run as part of
the suite, and the socket.io-client the pages load is the one the library pins."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.helpers.pages import Server, running_server
from tests.processes import ROOT
from tests.services import in_ci, missing

CLIENT = ROOT / "clients" / "js"
VENDORED = ROOT / "web" / "static" / "vendor" / "socket.io-client.esm.min.js"


MIN_NODE = (20, 10)  # node --test, and WebSocket (behind --experimental-websocket before 22)


def node() -> str:
    found = shutil.which("node")
    if found is None:
        missing("node", "the JavaScript client library's tests")
    version = subprocess.run([found, "--version"], capture_output=True, text=True,
                             timeout=30).stdout.strip().lstrip("v")
    if tuple(int(part) for part in version.split(".")[:2]) < MIN_NODE:
        reason = (f"node {version} is too old for the JavaScript client library's tests "
                  f"(they need {MIN_NODE[0]}.{MIN_NODE[1]} or newer)")
        if in_ci():
            pytest.fail(reason + "; CI=true, so this fails instead of skipping")
        pytest.skip(reason)
    return found


def test_the_client_library_passes_its_node_tests():
    done = subprocess.run([node(), "--test", "clients/js/test"], cwd=ROOT, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "# fail 0" in done.stdout
    if "# skipped 0" not in done.stdout:
        # The React hook tests need clients/js's devDependencies (react, react-test-renderer).
        reason = "some client library tests were skipped: run npm ci in clients/js"
        assert not in_ci(), reason + "; CI=true, so this fails"
        pytest.skip(reason + " (the others passed)")


@pytest.fixture(scope="module")
def short_token_server(tmp_path_factory: pytest.TempPathFactory):
    """A web process (embedded mode, demo seeded) whose access tokens live one minute."""
    with running_server(tmp_path_factory.mktemp("js-live"),
                        JWT_ACCESS_TOKEN_MINUTES="1") as server:
        yield server


def test_the_client_library_against_a_real_server(short_token_server: Server):
    """Catch-up after a forced disconnect, no duplicate after a lost ack, order under
    concurrent senders, token refresh: clients/js/test-live with the real server."""
    binary = node()
    probe = "process.exit(typeof WebSocket === 'function' ? 0 : 1)"
    has_websocket = subprocess.run([binary, "-e", probe], capture_output=True,
                                   timeout=30).returncode == 0
    flags = [] if has_websocket else ["--experimental-websocket"]
    done = subprocess.run(
        [binary, *flags, "--test", "clients/js/test-live"], cwd=ROOT, capture_output=True,
        text=True, timeout=240, stdin=subprocess.DEVNULL,
        env={**os.environ, "BOOKINGCHAT_URL": short_token_server.url})
    output = done.stdout[-8000:] + done.stderr[-3000:]
    assert done.returncode == 0, output + short_token_server.process.output(5000)
    assert "# fail 0" in done.stdout and "# skipped 0" in done.stdout, output
    assert "# pass 4" in done.stdout, output


def test_the_vendored_socket_io_client_is_the_pinned_one():
    pinned = json.loads((CLIENT / "package.json").read_text())["dependencies"]["socket.io-client"]
    text = VENDORED.read_text()
    assert f"Socket.IO v{pinned}\n" in text[:200]
    assert "sourceMappingURL" not in text  # the map is not vendored
    installed = CLIENT / "node_modules" / "socket.io-client" / "dist" / "socket.io.esm.min.js"
    if installed.exists():  # after npm install: the copy is that file (npm run vendor)
        source = installed.read_text()
        assert text.strip() == source[:source.rindex("//# sourceMappingURL")].strip()
