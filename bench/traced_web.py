"""The web process (``python -m web.serve``), or the script given as the first argument
(the reference harness's bare relay), with a memory probe: on SIGUSR1 it writes
what it holds to ``$MEMPROBE_DIR/probe-<n>``: its VmRSS, the live objects counted by type,
and (when ``MEMPROBE_FRAMES`` > 0, tracemalloc started before anything is imported) a
tracemalloc snapshot. ``bench/socket_memory.py`` starts it in place of the web process.
"""
from __future__ import annotations

import os
import signal
import sys
import tracemalloc

FRAMES = int(os.environ.get("MEMPROBE_FRAMES", "0"))
if FRAMES > 0:
    tracemalloc.start(FRAMES)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
OUT = os.environ.get("MEMPROBE_DIR", "/tmp")
_count = 0


def _rss_kb() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _probe(_signum: int, _frame: object) -> None:
    global _count
    import collections
    import gc
    import json

    _count += 1
    base = os.path.join(OUT, f"probe-{_count}")
    gc.collect()
    types = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    if FRAMES > 0:
        tracemalloc.take_snapshot().dump(base + ".snapshot")
    # pymalloc's own account (arenas, used and free blocks), printed on stderr: to a file.
    saved = os.dup(2)
    with open(base + ".malloc", "w") as handle:
        os.dup2(handle.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    with open(base + ".json.tmp", "w") as handle:
        json.dump({"rss_kb": _rss_kb(), "types": types,
                   "traced": tracemalloc.get_traced_memory()[0] if FRAMES > 0 else None},
                  handle)
    os.rename(base + ".json.tmp", base + ".json")


signal.signal(signal.SIGUSR1, _probe)
import runpy  # noqa: E402

if len(sys.argv) > 1:
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
else:
    sys.argv = [os.path.join(REPO, "web", "serve.py")]
    runpy.run_module("web.serve", run_name="__main__", alter_sys=True)
