"""Operators' commands for work that failed, one group per kind of pending work:

    flask --app web.app automation failed [--limit N]
    flask --app web.app automation requeue --all | ID...
    flask --app web.app notifications failed | requeue ...

``failed`` lists what gave up, oldest first, and when the sweep retries it next;
``requeue`` starts rows again as new (pending, no attempts) and hands them to the workers.
"""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from actions import audit, automation
from infra import pending_work
from infra.pending_work import PendingWork
from infra.task_publisher import Job, merge
from models.base import iso


def register_commands(app: Flask) -> None:
    for work in (automation.WORK, audit.WORK):
        app.cli.add_command(_group(work))


def _group(work: PendingWork) -> AppGroup:
    group = AppGroup(work.name, help=f"{work.name.capitalize()} work that failed: "
                                     "list it, requeue it.")

    @group.command("failed")
    @click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000),
                  help="List at most this many.")
    def list_failed(limit: int) -> None:
        """List the failed rows, oldest first, and when the sweep retries each."""
        rows, total = pending_work.failed(work, limit)
        for row in rows:
            retry_at = getattr(row, work.next_attempt_at)
            fields = [f"id={row.id}", f"attempts={getattr(row, work.attempts)}"]
            fields += [f"{name}={_text(getattr(row, name))}" for name in work.details]
            fields.append(f"retry_at={iso(retry_at) if retry_at else 'never (requeue by hand)'}")
            click.echo("  ".join(fields))
        shown = f" ({len(rows)} shown)" if len(rows) < total else ""
        click.echo(f"{total} failed{shown}")

    @group.command("requeue")
    @click.option("--all", "everything", is_flag=True, help="Requeue every failed row.")
    @click.argument("ids", nargs=-1, type=int)
    def requeue(everything: bool, ids: tuple[int, ...]) -> None:
        """Start failed rows (IDS, or --all) again as new: pending, with no attempts."""
        if everything == bool(ids):
            raise click.UsageError("Give the ids to requeue, or --all.")
        requeued = pending_work.requeue(work, None if everything else ids)
        click.echo(f"{len(requeued)} requeued")
        left = sorted(set(ids) - set(requeued))
        if left:
            click.echo(f"not failed, left alone: {' '.join(map(str, left))}")
        _send(work, requeued)

    return group


def _send(work: PendingWork, ids: list[int]) -> None:
    """Hand the tasks to the broker before the command exits.

    Sent here, not by the process's publisher thread, which would not outlive the
    command. Should the broker be away, the rows are pending: the sweep sends them.
    """
    celery_app = current_app.extensions["celery"]
    try:
        jobs = [Job(work.batch_task or work.task, (item,), bool(work.batch_task)) for item in ids]
        for name, args in merge(jobs):
            celery_app.tasks[name].apply_async(args=args)
    except Exception as exc:  # the broker is away; nothing is lost
        click.echo(f"could not reach the broker ({exc}); the beat sweep will hand them "
                   "to the workers", err=True)


def _text(value: object) -> str:
    return iso(value) if hasattr(value, "isoformat") else str(value)
