"""The quick check of chat:send-message accepts nothing the schema would refuse or read
differently; what it does not take goes through the schema."""
from __future__ import annotations

import itertools

import pytest
from marshmallow import ValidationError

from web.chat_schemas import SendIn

ROOM_IDS = [1, 7, 2**53, 2**53 + 1, 0, -3, 1.0, 1.5, True, "7", None]
CONTENTS = ["hi", "", "  padded ", "x" * 100_000, "x" * 100_001, 5, None, ["hi"]]
CLIENT_MSG_IDS = ["c-1", "", "x" * 64, "x" * 65, None, 12, "missing"]
EXTRAS = [{}, {"sender_id": 99, "created_at": "2020-01-01"}, {"attachment_ids": [1]}]


def payloads():
    for room_id, content, client_msg_id, extra in itertools.product(
            ROOM_IDS, CONTENTS, CLIENT_MSG_IDS, EXTRAS):
        payload = {"room_id": room_id, "content": content, **extra}
        if client_msg_id != "missing":
            payload["client_msg_id"] = client_msg_id
        yield payload


def test_quick_agrees_with_the_schema_on_every_payload_it_takes():
    schema = SendIn()
    taken = 0
    for payload in payloads():
        quick = SendIn.quick(payload)
        if quick is None:
            continue
        taken += 1
        loaded = schema.load(payload)  # raises if the schema would refuse it
        assert quick == {"client_msg_id": None, **loaded}, payload
    assert taken > 50  # the common shapes do take the quick way


@pytest.mark.parametrize("payload", [
    {"room_id": True, "content": "hi"},
    {"room_id": 1.5, "content": "hi"},
    {"room_id": "1", "content": "hi"},
    {"room_id": 0, "content": "hi"},
    {"room_id": 1, "content": "x" * 100_001},
    {"room_id": 1, "content": "hi", "client_msg_id": ""},
])
def test_what_the_schema_refuses_the_quick_check_leaves_to_it(payload):
    assert SendIn.quick(payload) is None
    with pytest.raises(ValidationError):
        SendIn().load(payload)


def test_an_integral_float_is_the_integer_it_spells():
    # JSON Schema's integer (the OpenAPI document's): 1.0 is one, so the schema takes it as 1.
    # The quick check leaves it to the schema all the same.
    assert SendIn.quick({"room_id": 1.0, "content": "hi"}) is None
    assert SendIn().load({"room_id": 1.0, "content": "hi", "attachment_ids": [2.0]}) == {
        "room_id": 1, "content": "hi", "attachment_ids": [2]}
