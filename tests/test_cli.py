"""`flask --app web.app create-owner` and `seed-demo`: a full stack's first owner or demo,
on the session's database (SQLite, or PostgreSQL with TEST_DATABASE=postgres). A second run
changes nothing."""
from __future__ import annotations

import os
import subprocess

import pytest
from sqlalchemy import select

from tests.processes import BIN, ROOT

OWNER = ["create-owner", "--email", "Ann@Nails.example", "--name", "Ann Lee",
         "--business", "Ann's Nails", "--timezone", "Europe/Paris",
         "--password", "a-long-password"]


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table, to tell that a run changed nothing at all."""
    from models import db

    with app.app_context():
        rows = {}
        for table in db.metadata.sorted_tables:
            order = [column for column in table.primary_key.columns] or list(table.columns)
            rows[table.name] = [tuple(row) for row in
                                db.session.execute(select(table).order_by(*order)).all()]
        db.session.rollback()
        return rows


def invoke(app, args: list[str]):
    result = app.test_cli_runner().invoke(args=args)
    return result


def test_create_owner_makes_an_owner_with_a_business_and_a_second_run_changes_nothing(app):
    from models import AutoResponse, Business, Faq, User, db

    first = invoke(app, OWNER)
    assert first.exit_code == 0, first.output
    assert "Created owner ann@nails.example" in first.output
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ann@nails.example"))
        business = db.session.get(Business, user.business_id)
        assert (user.role, user.name) == ("owner", "Ann Lee")
        assert (business.name, business.timezone, business.owner_id) == (
            "Ann's Nails", "Europe/Paris", user.id)
        # The defaults every new business gets, as through the API.
        assert db.session.scalar(select(Faq.id).where(Faq.business_id == business.id))
        assert db.session.scalar(select(AutoResponse.id).where(
            AutoResponse.business_id == business.id))
        db.session.rollback()
    before = snapshot(app)
    second = invoke(app, OWNER)
    assert second.exit_code == 0, second.output
    assert "already owns business \"Ann's Nails\"" in second.output
    assert "nothing changed" in second.output
    assert snapshot(app) == before


def test_the_owner_can_sign_in(app, client):
    assert invoke(app, OWNER).exit_code == 0
    response = client.post("/api/auth/login",
                           json={"email": "ann@nails.example", "password": "a-long-password"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["user"]["role"] == "owner"


def test_password_from_the_environment(app):
    args = [a for a in OWNER if a not in ("--password", "a-long-password")]
    result = app.test_cli_runner().invoke(args=args, env={"OWNER_PASSWORD": "from-the-env-1"})
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("change", "message"),
    [({"--password": "short"}, "password"),
     ({"--email": "not-an-email"}, "email"),
     ({"--timezone": "Mars/Olympus"}, "timezone")],
)
def test_bad_input_is_refused_and_writes_nothing(app, change: dict, message: str):
    args = list(OWNER)
    for option, value in change.items():
        args[args.index(option) + 1] = value
    before = snapshot(app)
    result = invoke(app, args)
    assert result.exit_code != 0
    assert message in result.output.lower(), result.output
    assert snapshot(app) == before


def test_an_email_of_another_role_is_refused(app):
    assert invoke(app, ["seed-demo"]).exit_code == 0
    before = snapshot(app)
    args = list(OWNER)
    args[args.index("--email") + 1] = "customer@demo.example"
    result = invoke(app, args)
    assert result.exit_code == 1
    assert "already has a customer account" in result.output
    assert snapshot(app) == before


def test_seed_demo_creates_the_demo_open_around_the_clock_and_a_second_run_changes_nothing(app):
    from actions import demo
    from models import Business, Message, Room, User, db

    first = invoke(app, ["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Created the demo business" in first.output
    assert "open around the clock, so open now" in first.output
    assert "seed-demo --hours closed" in first.output  # how to see the offline reply
    with app.app_context():
        business = db.session.scalar(select(Business))
        assert business.business_hours == demo.HOURS["always"]
        roles = sorted(db.session.scalars(select(User.role)))
        assert roles == ["customer", "owner", "staff"]
        room = db.session.scalar(select(Room))
        assert room.type == "customer" and room.status == "open"
        assert db.session.scalar(select(Message)) is None  # the conversation starts empty
        db.session.rollback()
    before = snapshot(app)
    second = invoke(app, ["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "exists; nothing changed" in second.output
    assert snapshot(app) == before


def test_seed_demo_hours_close_and_reopen_the_demo(app, client):
    assert invoke(app, ["seed-demo"]).exit_code == 0
    closed = invoke(app, ["seed-demo", "--hours", "closed"])
    assert closed.exit_code == 0 and "now has the 'closed' hours" in closed.output
    business = client.get("/api/businesses/1").get_json()["business"]
    assert business["is_open_now"] is False
    before = snapshot(app)
    again = invoke(app, ["seed-demo", "--hours", "closed"])
    assert "nothing changed" in again.output
    assert snapshot(app) == before
    assert invoke(app, ["seed-demo", "--hours", "always"]).exit_code == 0
    assert client.get("/api/businesses/1").get_json()["business"]["is_open_now"] is True


def _flask(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    env.pop("REDIS_URL", None)
    return subprocess.run([str(BIN / "flask"), "--app", "web.app", *args], cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def test_the_real_commands_twice(app, database_url: str):
    """What the README says to type: `flask --app web.app ...` in a process of its own."""
    for args in (["seed-demo"], OWNER):
        first = _flask(args)
        assert first.returncode == 0, first.stdout + first.stderr
        before = snapshot(app)
        second = _flask(args)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "nothing changed" in second.stdout
        assert snapshot(app) == before
