"""Commands for a full-stack start: `flask --app web.app create-owner` and `seed-demo`.

Both are idempotent: a second run finds what the first made and changes nothing, so they
can sit in a release script. They write through the same actions as the API.
"""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext
from marshmallow import ValidationError

from actions import demo, provisioning
from actions.errors import DomainError
from infra import tx


def register_commands(app: Flask) -> None:
    app.cli.add_command(create_owner_command)
    app.cli.add_command(seed_demo_command)


def _validated(schema_name: str, data: dict) -> None:
    from web import schemas

    try:
        getattr(schemas, schema_name)().load(data)
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(map(str, messages))}"
                             for field, messages in exc.normalized_messages().items())
        raise click.UsageError(problems) from exc


@click.command("create-owner")
@click.option("--email", required=True, help="The owner's sign-in email.")
@click.option("--name", required=True, help="The owner's name, as staff and customers see it.")
@click.option("--business", "business_name", required=True, help="The business's name.")
@click.option("--timezone", default="Europe/London", show_default=True,
              help="The business's IANA time zone (its opening hours are in it).")
@click.option("--password", envvar="OWNER_PASSWORD", prompt=True, hide_input=True,
              confirmation_prompt=True,
              help="At least 8 characters; read from OWNER_PASSWORD, else asked for.")
@with_appcontext
def create_owner_command(email: str, name: str, business_name: str, timezone: str,
                         password: str) -> None:
    """Create the first owner and their business (nothing changes if the owner exists).

    The business starts with the default FAQs, auto-responses and opening hours
    (Monday to Friday 09:00-17:00, Saturday 10:00-14:00), all editable through the API.
    """
    _validated("RegisterIn", {"email": email, "password": password, "name": name})
    _validated("BusinessIn", {"name": business_name, "timezone": timezone})
    try:
        result = provisioning.create_owner(email, password, name, business_name, timezone)
    except DomainError as exc:
        tx.rollback()
        raise click.ClickException(exc.message) from exc
    if result.created:
        click.echo(f"Created owner {result.email} (user id {result.user_id}) and business "
                   f"{result.business_name!r} (id {result.business_id}).")
    else:
        click.echo(f"{result.email} already owns business {result.business_name!r} "
                   f"(id {result.business_id}); nothing changed.")
    click.echo("Sign in with POST /api/auth/login; add staff with "
               f"POST /api/businesses/{result.business_id}/staff.")


@click.command("seed-demo")
@click.option("--hours", type=click.Choice(sorted(demo.HOURS)), default=None,
              help="Opening hours of the demo business: always (the default for a new demo), "
                   "office (Mon-Fri 09-17, Sat 10-14, London) or closed (to see the offline "
                   "reply). Without it an existing demo keeps its hours.")
@with_appcontext
def seed_demo_command(hours: str | None) -> None:
    """Create the demo business with an owner, a staff member and a customer (once)."""
    info = demo.seed(hours or "always")
    changed = False
    if hours is not None and not info["created"]:
        changed = demo.set_hours(hours)
        info = demo.seed()
    if info["created"]:
        click.echo(f"Created the demo business {info['business_name']!r} "
                   f"(id {info['business_id']}).")
    elif changed:
        click.echo(f"The demo business (id {info['business_id']}) now has the {hours!r} hours.")
    else:
        click.echo(f"The demo business (id {info['business_id']}) exists; nothing changed.")
    click.echo(describe_demo(info))


def describe_demo(info: dict, staff_absent_minutes: int | None = None) -> str:
    """The demo's logins and how to see its out-of-hours reply, for people."""
    if staff_absent_minutes is None:
        from flask import current_app

        staff_absent_minutes = current_app.config["SETTINGS"].staff_absent_minutes
    lines = [f"Demo business id {info['business_id']}; every password is {info['password']}"]
    lines += [f"  {role:<9} {email}" for role, email in info["accounts"].items()]
    state = "open" if info["is_open_now"] else "closed"
    hours = {"always": "open around the clock", "office": "open office hours (London)",
             "closed": "closed every day"}.get(info["hours"] or "", "on hours of its own")
    lines.append(f"The demo business is {hours}, so {state} now. Customers get the offline "
                 "reply while it is closed,")
    lines.append(f"  or while no staff member has had a socket open for {staff_absent_minutes} "
                 "minutes (STAFF_ABSENT_MINUTES).")
    command = ".venv/bin/flask --app web.app seed-demo --hours"
    if info["hours"] == "closed":
        lines.append(f"  To open it again: {command} always")
    else:
        lines.append(f"  To close it and see that reply: {command} closed "
                     "(--hours always opens it again).")
    return "\n".join(lines)
