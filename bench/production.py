"""The project in its production shape, measured by the reference harness (issue 11).

Runs ``/work/shared/perf/project.sh`` (every Procfile process, a private Redis as broker and
Socket.IO message queue, the web process pinned to core 0, the load generator to core 1) for:

* ``ladder-s2c``: the staff -> customer rate ladder, the bare Flask and Node relays in the
  same run; figure: the project's ``max_rate_p99_under_200ms``, the Flask relay's, the ratio;
* ``ladder-c2s``: the same, customer -> staff (every message runs the automation);
* ``pipeline``: FAQ-answer and notification latency under background customer chat
  (``project.sh pipeline --rate R --pairs P``);
* ``sockets``: idle authenticated sockets on the web process and its RSS per socket
  (``project.sh sockets --n N --users U --hold S``);

on SQLite and, with ``--pg URL`` (project.sh's PERF_PG_URL), on PostgreSQL. The harness is
copied to a temporary folder and ``npm ci`` runs there once. Every line the harness prints
goes to ``<out>/<db>-<part>.out`` (its stderr to ``.err``) and to this script's stdout; at
the end one Markdown table gives each figure with the exact command that produced it.

    .venv/bin/python bench/production.py                               # everything, SQLite
    .venv/bin/python bench/production.py --pg postgresql://postgres@127.0.0.1:5432/postgres \\
        --db sqlite,pg --parts ladder-s2c,ladder-c2s
    .venv/bin/python bench/production.py --parts ladder-c2s --c2s-rates 100,200,400 --seconds 4

Loopback only; every wait is bounded (``--part-timeout``); everything started here is
stopped at the end, also on Ctrl-C (the harness's own teardown runs first; any stack it
left behind is taken down from its state file).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_HARNESS = Path(os.environ.get("PERF_HARNESS", "/work/shared/perf"))
PARTS = ("ladder-s2c", "ladder-c2s", "pipeline", "sockets")
DIRECTION = {"ladder-s2c": "staff-to-customer", "ladder-c2s": "customer-to-staff"}
RATIO_TARGET = {"ladder-s2c": 0.7, "ladder-c2s": 0.6}
DB_NAMES = {"sqlite": "SQLite", "pg": "PostgreSQL"}
STOP_WAIT = 30.0   # seconds between SIGTERM to the harness and SIGKILL


class Interrupted(Exception):
    pass


def _on_signal(signum: int, _frame: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # a second Ctrl-C must not cut the teardown
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signal.Signals(signum).name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(text: str) -> None:
    print(f"[production {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stop_group(proc: subprocess.Popen[str], first: int = signal.SIGTERM,
               wait: float = STOP_WAIT) -> None:
    """Stop the harness's process group (it leads its own session): ``first``, then SIGKILL."""
    for sig, timeout in ((first, wait), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc.poll()
            if not group_alive(proc.pid):
                break
            time.sleep(0.2)
        if not group_alive(proc.pid):
            break
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


# ---------------------------------------------------------------------------------------------
# one harness run
# ---------------------------------------------------------------------------------------------

@dataclass
class Run:
    db: str
    part: str
    command: str                   # as a person would type it (env prefix + $perf/project.sh ...)
    lines: list[str] = field(default_factory=list)
    rc: int | None = None
    seconds: float = 0.0
    note: str = ""

    def json_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.lines:
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def kv(self, key: str) -> str | None:
        """The last ``key=value`` of the output (the harness's summary lines)."""
        found = None
        for line in self.lines:
            for match in re.finditer(rf"\b{re.escape(key)}=(\S+)", line):
                found = match.group(1)
        return found


class Harness:
    """A private, writable copy of the harness with its node_modules."""

    def __init__(self, source: Path, workdir: Path, python: str) -> None:
        self.source = source
        self.dir = workdir / "perf"
        self.python = python

    def prepare(self, timeout: float = 600) -> None:
        if not (self.source / "project.sh").exists():
            raise SystemExit(f"no project.sh in {self.source} (set --harness)")
        shutil.copytree(self.source, self.dir, ignore=shutil.ignore_patterns("node_modules"))
        log(f"harness copied to {self.dir}; npm ci")
        res = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=self.dir,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=timeout)
        if res.returncode != 0:
            raise SystemExit(f"npm ci failed ({res.returncode}):\n{res.stderr[-2000:]}")


def raise_fd_limit(need: int) -> None:
    """The web process (started by the harness) inherits this limit: 10,000 sockets need it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, need)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < need:
        log(f"warning: open-file limit {soft} < {need}: the sockets part will stop early "
            "(raise the hard limit: ulimit -Hn)")


def teardown_leftovers(tmpdir: Path, harness: Harness) -> None:
    """project.sh keeps stack.py's state in $TMPDIR/tmp.*; a run that was killed before its
    EXIT trap leaves that file behind: take those stacks down (stack.py down stops the
    process groups it started, drops its PostgreSQL database and removes its folder)."""
    for path in sorted(tmpdir.glob("tmp.*")):
        try:
            state = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(state, dict) or "groups" not in state:
            continue
        log(f"taking down a stack the harness left behind ({path.name})")
        try:
            subprocess.run([harness.python, str(harness.dir / "stack.py"), "down", "--state",
                            str(path)], stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=120, cwd=REPO)
        except subprocess.TimeoutExpired:
            log(f"warning: stack.py down timed out for {path}")


def run_part(harness: Harness, db: str, part: str, args: list[str], env_extra: dict[str, str],
             out_dir: Path, scratch: Path, timeout: float) -> Run:
    mode = "ladder" if part.startswith("ladder") else part
    shown_env = " ".join(f"{k}={v}" for k, v in env_extra.items() if k != "TMPDIR")
    shown = f"{shown_env} $perf/project.sh {mode} {shlex.join(args)}".strip()
    run = Run(db, part, shown)
    run_tmp = Path(tempfile.mkdtemp(prefix=f"{db}-{part}-", dir=scratch))
    env = {**os.environ, **env_extra, "TMPDIR": str(run_tmp), "PERF_PYTHON": harness.python,
           "PROJECT_PYTHON_BIN": str(Path(harness.python).parent)}
    if db != "pg":
        env.pop("PERF_PG_URL", None)
    cmd = [str(harness.dir / "project.sh"), mode, *args]
    out_path, err_path = out_dir / f"{db}-{part}.out", out_dir / f"{db}-{part}.err"
    log(f"{DB_NAMES[db]} {part}: {shown}  (timeout {timeout:.0f} s)")
    started = time.monotonic()
    with out_path.open("w") as out_fh, err_path.open("w") as err_fh:
        out_fh.write(f"# {shown}\n")
        out_fh.flush()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err_fh, text=True, bufsize=1,
                                start_new_session=True)

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                run.lines.append(line.rstrip("\n"))
                out_fh.write(line)
                out_fh.flush()
                print(f"{db}/{part}: {line}", end="", flush=True)

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        try:
            deadline = started + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
            if proc.poll() is None:
                run.note = f"timed out after {timeout:.0f} s"
                log(f"{part}: {run.note}; stopping the harness")
                stop_group(proc)
        except BaseException:
            run.note = "interrupted"
            stop_group(proc)
            raise
        finally:
            reader.join(timeout=10)
            if group_alive(proc.pid):
                stop_group(proc, wait=5)
            teardown_leftovers(run_tmp, harness)
            shutil.rmtree(run_tmp, ignore_errors=True)
            run.rc = proc.returncode
            run.seconds = time.monotonic() - started
    if run.rc not in (0, None) and not run.note:
        run.note = f"exit code {run.rc}; see {err_path}"
        log(f"{part}: {run.note}\n" + "\n".join(err_path.read_text(errors="replace")
                                                  .splitlines()[-15:]))
    return run


# ---------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------

def _ms(value: Any) -> str:
    if value is None:
        return "–"
    value = float(value)
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def ladder_rows(run: Run) -> list[list[str]]:
    table = {}
    for line in run.lines:
        m = re.match(r"^(bare-flask|bare-node|project)\s+(\S+)\s+(\S+)", line)
        if m:
            table[m.group(1)] = m.group(2)
    project, flask, node = (table.get(k, "NA") for k in ("project", "bare-flask", "bare-node"))
    ratio = run.kv("ratio") or "NA"
    steps = [j for j in run.json_lines() if j.get("target") == "project"]
    detail = []
    for step in steps:
        ok = (step.get("sent", 0) > 0 and step.get("delivered") == step.get("sent")
              and step.get("acked") == step.get("sent") and (step.get("deliver_p99") or 1e9) < 200)
        if not ok:
            extra = f", {step.get('lost')} lost" if step.get("lost") else ""
            if step.get("errors"):
                extra += f", {step['errors']} ack errors {step.get('error_codes', {})}"
            detail.append(f"first failing step {step['rate']}: ack p50 {_ms(step.get('ack_p50'))}"
                          f" p99 {_ms(step.get('ack_p99'))}, deliver p99 "
                          f"{_ms(step.get('deliver_p99'))}{extra}")
            break
    else:
        if steps:
            detail.append("passed every step (the ceiling may be higher)")
    title = "staff → customer" if run.part == "ladder-s2c" else "customer → staff"
    target = RATIO_TARGET[run.part]
    verdict = ""
    try:
        verdict = " PASS" if float(ratio) >= target else " FAIL"
    except ValueError:
        pass
    value = (f"project **{project}** msg/s; Flask relay {flask}, Node relay {node}; "
             f"ratio **{ratio}**{verdict} (target ≥ {target})")
    if detail:
        value += "; " + "; ".join(detail)
    return [[title + ": max rate, every message acked and delivered, p99 < 200 ms", value]]


def pipeline_rows(run: Run) -> list[list[str]]:
    by_kind = {j.get("kind"): j for j in run.json_lines() if "kind" in j}
    rows = []
    bg = by_kind.get("background")
    faq, notif = by_kind.get("faq"), by_kind.get("notification")
    bg_text = ""
    if bg:
        bg_text = (f"background {bg.get('rate')} msg/s: {bg.get('acked')}/{bg.get('sent')} acked, "
                   f"ack p99 {_ms(bg.get('ack_p99'))}, deliver p99 {_ms(bg.get('deliver_p99'))}")
        if bg.get("errors"):
            bg_text += f", {bg['errors']} ack errors {bg.get('error_codes', {})}"
    if faq:
        rows.append(["FAQ answer latency under background chat",
                     f"p50 **{_ms(faq.get('p50'))}**, p99 **{_ms(faq.get('p99'))}**, "
                     f"{faq.get('answered')}/{faq.get('count')} answered"
                     + (f", {faq['errors']} send errors" if faq.get("errors") else "")
                     + " (target p50 < 50 ms, p99 < 200 ms)" + (f"; {bg_text}" if bg_text else "")])
    if notif:
        rows.append(["notification latency under the same background",
                     f"p50 **{_ms(notif.get('p50'))}**, p99 **{_ms(notif.get('p99'))}**, "
                     f"{notif.get('received')}/{notif.get('count')} received"
                     + (f", {notif['errors']} POST errors {notif.get('error_statuses')}"
                        if notif.get("errors") else "")
                     + (f", {notif['matched_in_order']} matched in order"
                        if notif.get("matched_in_order") else "")
                     + " (target p50 < 30 ms, p99 < 100 ms)"])
    return rows or [["pipeline", "no result"]]


def sockets_rows(run: Run) -> list[list[str]]:
    res = next((j for j in run.json_lines() if "held" in j), None)
    per = run.kv("rss_per_conn_kb")
    if res is None:
        return [["idle authenticated sockets on one web process", "no result"]]
    errors = res.get("connect_errors") or {}
    text = (f"**{res.get('held')}** held of {res.get('requested')} requested "
            f"({res.get('connected')} connected, {res.get('disconnects')} disconnects); "
            f"**{per} KB** RSS per socket (target 10,000 held, ≤ the relay's ~150 KB)")
    if errors:
        text += "; connect errors " + ", ".join(f"{k}: {v}" for k, v in errors.items())
    return [["idle authenticated sockets on one web process", text]]


def figures(run: Run) -> list[list[str]]:
    if run.part.startswith("ladder"):
        rows = ladder_rows(run)
    elif run.part == "pipeline":
        rows = pipeline_rows(run)
    else:
        rows = sockets_rows(run)
    if run.note:
        rows = [[r[0], r[1] + f" ({run.note})"] for r in rows]
    return rows


def markdown(runs: list[Run], argv: list[str], harness_dir: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"### {stamp}: production shape (`bench/production.py`)",
        "",
        f"`.venv/bin/python bench/production.py {shlex.join(argv)}`; the harness was copied "
        f"(`perf=$(mktemp -d)/perf && cp -r {harness_dir} $perf && (cd $perf && npm ci)`) and "
        "run from the project's root with `PERF_PYTHON=.venv/bin/python`.",
        "",
        "| database | figure | measured | command |",
        "| --- | --- | --- | --- |",
    ]
    for run in runs:
        for name, value in figures(run):
            lines.append(f"| {DB_NAMES[run.db]} | {name} | {value} | `{run.command}` |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def part_args(part: str, o: argparse.Namespace) -> tuple[list[str], float]:
    """project.sh arguments and a time limit for the part."""
    stack = 180.0   # stack up (migrations, workers) and down
    if part.startswith("ladder"):
        rates = o.s2c_rates if part == "ladder-s2c" else o.c2s_rates
        steps = len(rates.split(","))
        args = ["--rates", rates, "--seconds", f"{o.seconds:g}", "--pairs", str(o.pairs)]
        if part == "ladder-c2s":
            args += ["--direction", DIRECTION[part]]
        args += ["--flask-port", str(free_port()), "--node-port", str(free_port())]
        per_target = 120 + o.pairs * 1.5 + steps * (o.seconds + 2 + 5 + 1 + 2)
        return args, stack + 3 * per_target
    if part == "pipeline":
        args = ["--rate", str(o.pipeline_rate), "--pairs", str(o.pipeline_pairs)]
        return args, stack + 120 + o.pipeline_pairs * 1.5 + 2 * (20 + 10) + 30
    args = ["--n", str(o.sockets_n), "--users", str(o.sockets_users), "--hold", str(o.sockets_hold)]
    return args, stack + 120 + o.sockets_hold + (o.sockets_n / 200 + 1) * 11


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default=",".join(PARTS),
                   help=f"comma list of {', '.join(PARTS)} [all]")
    p.add_argument("--db", default=None,
                   help="comma list of sqlite, pg [sqlite, plus pg when --pg is given]")
    p.add_argument("--pg", default=os.environ.get("PERF_PG_URL"),
                   help="PostgreSQL admin URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--s2c-rates", default="200,300,400,500,600,700,800,900,1000,1200,1500")
    p.add_argument("--c2s-rates", default="50,100,200,300,400,600")
    p.add_argument("--seconds", type=float, default=6, help="measured seconds per ladder step [6]")
    p.add_argument("--pairs", type=int, default=50, help="ladder socket pairs [50]")
    p.add_argument("--pipeline-rate", type=int, default=100)
    p.add_argument("--pipeline-pairs", type=int, default=50)
    p.add_argument("--sockets-n", type=int, default=10000)
    p.add_argument("--sockets-users", type=int, default=20)
    p.add_argument("--sockets-hold", type=int, default=30)
    p.add_argument("--part-timeout", type=float, default=0,
                   help="seconds one harness run may take [estimated from its settings]")
    p.add_argument("--out", default=None, help="output folder [bench/out/production-<UTC stamp>]")
    p.add_argument("--harness", default=str(DEFAULT_HARNESS), help="the harness folder (read-only)")
    p.add_argument("--keep-tmp", action="store_true", help="keep the harness copy")
    o = p.parse_args(argv)

    parts = [x.strip() for x in o.parts.split(",") if x.strip()]
    dbs = [x.strip() for x in (o.db or ("sqlite,pg" if o.pg else "sqlite")).split(",") if x.strip()]
    for part in parts:
        if part not in PARTS:
            p.error(f"unknown part {part!r}")
    for db in dbs:
        if db not in DB_NAMES:
            p.error(f"unknown database {db!r}")
    if "pg" in dbs and not o.pg:
        p.error("--db pg needs --pg postgresql://postgres@127.0.0.1:5432/postgres")
    local = r"^postgres(ql)?(\+\w+)?://[^/]*(127\.0\.0\.1|localhost|\[::1\])[:/]"
    if o.pg and not re.match(local, o.pg):
        p.error("--pg must be a PostgreSQL server on this machine (127.0.0.1)")
    python = str(REPO / ".venv" / "bin" / "python")
    if not os.access(python, os.X_OK):
        p.error(f"no {python}: create the project's virtualenv first")
    for tool in ("node", "npm", "redis-server"):
        if shutil.which(tool) is None:
            p.error(f"{tool} is not installed")

    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out_dir = Path(o.out) if o.out else REPO / "bench" / "out" / f"production-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-production-"))
    (work / "tmp").mkdir()
    if "sockets" in parts:
        raise_fd_limit(o.sockets_n + 1024)
    if "sockets" in parts or "ladder-s2c" in parts or "ladder-c2s" in parts:
        raise_fd_limit(4096)

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    harness = Harness(Path(o.harness), work, python)
    runs: list[Run] = []
    code = 0
    try:
        harness.prepare()
        for db in dbs:
            for part in parts:
                args, limit = part_args(part, o)
                env_extra = {"PERF_PG_URL": o.pg} if db == "pg" else {}
                run = run_part(harness, db, part, args, env_extra, out_dir, work / "tmp",
                               o.part_timeout or limit)
                runs.append(run)
                if run.note:
                    code = 1
    except (Interrupted, KeyboardInterrupt) as exc:
        log(f"interrupted ({exc}); everything started here is stopped")
        code = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if harness.dir.exists():
            teardown_leftovers(work / "tmp", harness)
        if o.keep_tmp:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        if runs:
            table = markdown(runs, argv, o.harness)
            (out_dir / "table.md").write_text(table + "\n")
            print()
            print(table)
            print(f"\nraw output: {out_dir}")
    return code


if __name__ == "__main__":
    sys.exit(main())
