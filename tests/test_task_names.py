"""Task names match their modules; routes, the beat schedule and callers use the constants;
the former names stay registered for tasks a broker still holds under them."""
from __future__ import annotations

import re
from pathlib import Path

import celeryconfig
from workers import task_names
from workers.base import FlaskTask

ROOT = Path(__file__).resolve().parent.parent


def _ours(app) -> dict:
    return {name: task for name, task in app.extensions["celery"].tasks.items()
            if not name.startswith("celery.")}


def _constants() -> set[str]:
    return {value for name, value in vars(task_names).items()
            if name.isupper() and isinstance(value, str)}


def test_every_task_is_named_after_its_module_and_function(app):
    for name, task in _ours(app).items():
        current = task_names.FORMER_NAMES.get(name, name)
        assert current == f"{task.run.__module__}.{task.run.__name__}", name
        assert isinstance(task, FlaskTask), name  # rollback and retries from the base class


def test_constants_name_exactly_the_registered_tasks(app):
    ours = _ours(app)
    assert set(ours) == _constants() | set(task_names.FORMER_NAMES)


def test_former_names_run_the_same_code_and_go_to_the_same_queue(app):
    ours = _ours(app)
    for former, current in task_names.FORMER_NAMES.items():
        assert ours[former].run is ours[current].run
        assert celeryconfig.task_routes.get(former) == celeryconfig.task_routes.get(current)


def test_routes_and_beat_name_registered_tasks(app):
    ours = _ours(app)
    assert set(celeryconfig.task_routes) <= set(ours)
    assert {entry["task"] for entry in celeryconfig.beat_schedule.values()} <= set(ours)
    assert celeryconfig.task_routes[task_names.PROCESS_CUSTOMER_MESSAGES]["queue"] == "automation"
    assert celeryconfig.task_routes[task_names.PROCESS_AUDIT_LOG]["queue"] == "notifications"


def test_callers_refer_to_tasks_by_constant_not_by_a_string():
    spelled_out = re.compile(r"""["']workers\.\w+\.\w+["']""")
    offenders = [str(path.relative_to(ROOT))
                 for folder in ("actions", "infra", "web", "workers")
                 for path in (ROOT / folder).rglob("*.py")
                 if path.name != "task_names.py" and spelled_out.search(path.read_text())]
    assert offenders == []
