"""One test per mismatch between /openapi.json and the API that schemathesis found (issue 12,
item 9), each checking the document and the answer together."""
from __future__ import annotations

import base64
import io
import re
from zoneinfo import available_timezones

import jsonschema_rs
import pytest

from actions import attachments
from tests import factories
from tests.helpers import assert_error
from web.schemas import INT64_MAX, NOT_BLANK

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwAD"
                       "hgGAWjR9awAAAABJRU5ErkJggg==")


@pytest.fixture
def spec(client) -> dict:
    return client.get("/openapi.json").get_json()


def valid(spec: dict, schema: str | dict, instance: object) -> bool:
    """Whether the document's schema (a component name or an inline schema) takes instance."""
    root = {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema
    validator = jsonschema_rs.validator_for({**root, "components": spec["components"]})
    return validator.is_valid(instance)


def response_schema(spec: dict, path: str, method: str, status: int,
                    media: str = "application/json") -> dict:
    return spec["paths"][path][method]["responses"][str(status)]["content"][media]["schema"]


def test_an_error_with_details_fits_the_documented_error(client, spec: dict):
    # 21 violations: error bodies carry `details`, which ErrorBody forbade.
    response = client.post("/api/auth/register", json={"email": "x"})
    body = assert_error(response, 400, "invalid_input")
    assert "details" in body
    assert response_schema(spec, "/api/auth/register", "post", 400) == {
        "$ref": "#/components/schemas/ErrorOut"}
    assert valid(spec, "ErrorOut", response.get_json())
    # The contract: more fields may come, never fewer than code and message.
    assert valid(spec, "ErrorOut", {"error": {"code": "x", "message": "y", "retry_after": 3}})
    assert not valid(spec, "ErrorOut", {"error": {"code": "x"}})


def test_empty_or_blank_content_is_refused_by_the_document_as_by_the_api(client, spec: dict):
    # {"content": ""} was valid by the document and refused by the API (400 empty_content), as
    # the contract says: content is 1 to MAX_MESSAGE_CHARS characters after trimming.
    business, _owner = factories.business(client, hours=factories.ALWAYS_OPEN)
    customer = factories.register(client)
    room = client.post("/api/chat/rooms/create", headers=customer.headers,
                       json={"business_id": business["id"]}).get_json()["room"]
    url = f"/api/chat/rooms/{room['id']}/messages"
    for content in ("", "  \n\t", "\u3000"):
        assert not valid(spec, "SendIn", {"content": content}), repr(content)
        assert_error(client.post(url, headers=customer.headers, json={"content": content}),
                     400, "empty_content")
    assert spec["components"]["schemas"]["SendIn"]["properties"]["content"]["maxLength"] == 4000
    assert valid(spec, "SendIn", {"content": " hi "})
    assert client.post(url, headers=customer.headers, json={"content": " hi "}).status_code == 201


def test_the_not_blank_pattern_is_what_strip_keeps():
    # Python's re (how schemathesis draws values, in its ASCII reading too) agrees with
    # str.strip() on every character; the validators' \s differs beyond ASCII, hence the list.
    for flags in (0, re.ASCII):
        pattern = re.compile(NOT_BLANK, flags)
        disagree = [hex(code) for code in range(0x110000)
                    if not 0xD800 <= code < 0xE000
                    and bool(pattern.search(chr(code))) == chr(code).isspace()]
        assert disagree == []


def test_attachment_download_is_documented_with_its_sniffed_type(client, spec: dict):
    # Served as image/png, documented as application/octet-stream.
    customer = factories.register(client)
    upload = client.post("/api/chat/attachments", headers=customer.headers,
                         content_type="multipart/form-data",
                         data={"file": (io.BytesIO(PNG), "photo.png")}).get_json()["attachment"]
    response = client.get(upload["url"], headers=customer.headers)
    assert response.status_code == 200
    documented = spec["paths"]["/api/chat/attachments/{attachment_id}"]["get"]["responses"]
    assert response.mimetype in documented["200"]["content"]
    assert set(documented["200"]["content"]) == set(attachments.ALLOWED_TYPES)
    assert {"206", "304", "416"} <= set(documented)
    upload_doc = spec["paths"]["/api/chat/attachments"]["post"]["requestBody"]
    assert upload_doc["required"] is True
    accepted = upload_doc["content"]["multipart/form-data"]["encoding"]["file"]["contentType"]
    assert set(accepted.split(", ")) == set(attachments.ALLOWED_TYPES)


def test_the_connection_counts_are_documented(client, spec: dict):
    # The 200 of GET /api/monitoring/connections was undocumented.
    _business, owner = factories.business(client)
    response = client.get("/api/monitoring/connections", headers=owner.headers)
    assert response.status_code == 200
    schema = response_schema(spec, "/api/monitoring/connections", "get", 200)
    assert valid(spec, schema, response.get_json())
    assert set(spec["components"]["schemas"]["ConnectionsOut"]["properties"]) == {
        "total", "business", "online_user_ids"}


def test_a_body_with_required_fields_is_itself_required(client, spec: dict):
    # A request without a body was valid by the document; the API refuses it (400).
    for path, method in [("/api/auth/register", "post"), ("/api/auth/login", "post"),
                         ("/api/businesses", "post"), ("/api/chat/rooms/create", "post"),
                         ("/api/chat/rooms/{room_id}/messages", "post"),
                         ("/api/chat/rooms/{room_id}/messages/read", "put"),
                         ("/api/chat/faqs", "post"), ("/api/events", "post")]:
        assert spec["paths"][path][method]["requestBody"].get("required") is True, path
    assert_error(client.post("/api/auth/register"), 400)
    # Bodies whose fields are all optional stay optional: logout, partial updates.
    assert not spec["paths"]["/api/auth/logout"]["post"]["requestBody"].get("required")
    assert not spec["paths"]["/api/businesses/{business_id}"]["put"]["requestBody"].get(
        "required")


def test_a_room_request_names_its_business_or_its_participants(spec: dict):
    # {} was valid by the document; the API needs business_id (customer) or participant_ids.
    assert not valid(spec, "RoomCreateIn", {})
    assert not valid(spec, "RoomCreateIn", {"type": "staff"})
    assert not valid(spec, "RoomCreateIn", {"type": "staff", "participant_ids": []})
    assert valid(spec, "RoomCreateIn", {"business_id": 1})
    assert valid(spec, "RoomCreateIn", {"type": "staff", "participant_ids": [2]})


def test_well_formed_but_unusable_requests_are_documented_422(client, spec: dict):
    # Valid by the document, refused as a whole: the contract's 422, documented per operation.
    for path, method in [("/api/businesses", "post"), ("/api/businesses/{business_id}", "put"),
                         ("/api/chat/rooms/create", "post"),
                         ("/api/chat/rooms/{room_id}/messages", "post"),
                         ("/api/chat/auto-responses", "post"),
                         ("/api/chat/auto-responses/{response_id}", "put")]:
        assert "422" in spec["paths"][path][method]["responses"], path
    _business, owner = factories.business(client)
    body = {"trigger": "welcome", "message": "Back {next_open_at}"}
    assert valid(spec, "AutoResponseIn", body)
    assert_error(client.post("/api/chat/auto-responses", headers=owner.headers, json=body),
                 422, "invalid_placeholder")


def test_event_types_are_documented_with_their_pattern(client, spec: dict):
    # {"type": "customer"}, ?type=È and /notification-rules/0 were valid by the document.
    _business, owner = factories.business(client)
    assert not valid(spec, "EventIn", {"type": "customer"})
    assert valid(spec, "EventIn", {"type": "booking.created"})
    assert_error(client.post("/api/events", headers=owner.headers, json={"type": "customer"}),
                 400, "invalid_type")
    rule = spec["paths"]["/api/notification-rules/{event_type}"]["put"]["parameters"][0]
    assert rule["name"] == "event_type" and "pattern" in rule["schema"]
    audit = next(p for p in spec["paths"]["/api/audit-logs"]["get"]["parameters"]
                 if p["name"] == "type")
    for text, ok in [("booking.*", True), ("booking.created", True), ("booking", False),
                     ("È", False)]:
        assert bool(re.search(audit["schema"]["pattern"], text)) is ok, text


def test_business_fields_are_documented_as_the_api_reads_them(client, spec: dict):
    # Holidays ["__main__"] and any timezone text were valid by the document.
    schema = spec["components"]["schemas"]["BusinessUpdateIn"]["properties"]
    assert set(schema["timezone"]["enum"]) == available_timezones()
    assert schema["holidays"]["items"]["format"] == "date"
    assert not valid(spec, "BusinessUpdateIn", {"business_hours": {"mon": [["09:00", "09:00"]]}})
    assert not valid(spec, "BusinessUpdateIn", {"business_hours": {"funday": []}})
    assert valid(spec, "BusinessUpdateIn", {"business_hours": {"mon": [["22:00", "24:00"]]}})
    _business, owner = factories.business(client)
    assert_error(client.put(f"/api/businesses/{owner.business_id}", headers=owner.headers,
                            json={"holidays": ["__main__"]}), 400, "invalid_schedule")


def test_json_integers_are_read_as_json_schema_reads_them(client, spec: dict):
    # up_to_seq 8343302.0 is an integer by the document and was refused; true and 0 were
    # booleans to the API (enabled: 0 accepted) but not by the document.
    business, owner = factories.business(client, hours=factories.ALWAYS_OPEN)
    customer = factories.register(client)
    room = client.post("/api/chat/rooms/create", headers=customer.headers,
                       json={"business_id": business["id"]}).get_json()["room"]
    response = client.put(f"/api/chat/rooms/{room['id']}/messages/read", headers=customer.headers,
                          json={"up_to_seq": 0.0})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["up_to_seq"] == 0
    assert_error(client.put("/api/notification-rules/booking.created", headers=owner.headers,
                            json={"enabled": 0}), 400)
    assert_error(client.put(f"/api/businesses/{business['id']}", headers=owner.headers,
                            json={"faq_threshold": True}), 400)


def test_free_form_json_is_documented_with_the_64_bit_limit(client, spec: dict):
    # Event data and ignored fields may hold any JSON, but integers past 64 bits are 400.
    _business, owner = factories.business(client)
    big = {"type": "booking.created", "data": {"n": INT64_MAX + 1}}
    assert not valid(spec, "EventIn", big)
    assert valid(spec, "EventIn", {"type": "booking.created", "data": {"n": [INT64_MAX, 1.5]}})
    assert_error(client.post("/api/events", headers=owner.headers, json=big), 400)
    assert not valid(spec, "SendIn", {"content": "hi", "extra": {"n": -(INT64_MAX + 2)}})


def test_a_page_cursor_past_64_bits_is_400_not_500(client, spec: dict):
    # ?before_id=12368561353558294528 overflowed SQLite's integer: a 500.
    _business, owner = factories.business(client)
    for path in ("/api/audit-logs", "/api/notifications"):
        assert_error(client.get(f"{path}?before_id={INT64_MAX + 1}", headers=owner.headers), 400)
        cursor = next(p for p in spec["paths"][path]["get"]["parameters"]
                      if p["name"] == "before_id")
        assert cursor["schema"]["maximum"] == INT64_MAX
