"""On PostgreSQL, the ORM's UPDATE of many rows (a worker's batch of messages marked done)
takes a round trip per page of rows, not one per row: counted on the wire, through a
proxy between the app's engine settings and the database."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from infra.database import _engine_options
from models import Message, db
from tests import factories
from tests.tcp_proxy import TcpProxy


def test_marking_a_batch_of_messages_done_takes_a_round_trip_not_one_per_message(
        app, client, database_url: str, is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("psycopg2's executemany: PostgreSQL only")
    business, _owner = factories.business(client, "Round Trip Studio",
                                          hours=factories.ALWAYS_OPEN)
    customer = factories.register(client)
    room = client.post("/api/chat/rooms/create", json={"business_id": business["id"]},
                       headers=customer.headers).get_json()["room"]
    for n in range(40):
        response = client.post(f"/api/chat/rooms/{room['id']}/messages",
                               json={"content": f"hello number {n}"}, headers=customer.headers)
        assert response.status_code == 201
    url = make_url(database_url)
    proxy = TcpProxy(url.port or 5432)
    options = _engine_options(database_url)
    options.pop("pool_pre_ping", None)  # a ping would be a round trip of its own
    engine = sa.create_engine(url.set(host="127.0.0.1", port=proxy.port), **options)
    try:
        with Session(engine) as session:
            messages = list(session.scalars(select(Message).where(
                Message.room_id == room["id"], Message.sender_type == "customer")))
            assert len(messages) == 40
            for message in messages:
                message.outcome = "small_talk"
            before = proxy.forwarded
            session.flush()
            chunks = proxy.forwarded - before
            session.commit()
    finally:
        engine.dispose()
        proxy.close()
    # One request and its answer (a chunk each way, give or take a split): not 40 of each.
    assert chunks <= 6, chunks
    with app.app_context():
        assert set(db.session.scalars(select(Message.outcome).where(
            Message.room_id == room["id"], Message.sender_type == "customer"))) == {"small_talk"}
