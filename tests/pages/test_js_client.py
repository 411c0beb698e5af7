"""The JavaScript client library's own tests (node --test clients/js/test) run as part of
the suite, and the socket.io-client the pages load is the one the library pins."""
from __future__ import annotations

import json
import shutil
import subprocess

from tests.processes import ROOT
from tests.services import missing

CLIENT = ROOT / "clients" / "js"
VENDORED = ROOT / "web" / "static" / "vendor" / "socket.io-client.esm.min.js"


def node() -> str:
    found = shutil.which("node")
    if found is None:
        missing("node", "the JavaScript client library's tests")
    return found


def test_the_client_library_passes_its_node_tests():
    done = subprocess.run([node(), "--test", "clients/js/test"], cwd=ROOT, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "# fail 0" in done.stdout


def test_the_vendored_socket_io_client_is_the_pinned_one():
    pinned = json.loads((CLIENT / "package.json").read_text())["dependencies"]["socket.io-client"]
    text = VENDORED.read_text()
    assert f"Socket.IO v{pinned}\n" in text[:200]
    assert "sourceMappingURL" not in text  # the map is not vendored
    installed = CLIENT / "node_modules" / "socket.io-client" / "dist" / "socket.io.esm.min.js"
    if installed.exists():  # after npm install: the copy is that file (npm run vendor)
        source = installed.read_text()
        assert text.strip() == source[:source.rindex("//# sourceMappingURL")].strip()
