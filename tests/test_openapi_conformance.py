"""The API answers as /openapi.json says: schemathesis generates requests from the document
and sends them to the app in-process (WSGI), signed in as real seeded accounts.

Bounded and deterministic: a fixed seed, derandomized generation, no example database, a few
dozen cases per operation (examples, coverage and fuzzing phases, positive and negative data).
Every response must be no 5xx, a documented status and content type, and match its schema;
documented-valid requests must not be refused with 400 (422 is the contract's "fits the
document but cannot be applied"), and documented-invalid ones must be refused. The settings
shared with `schemathesis run` are in schemathesis.toml at the repository root.
"""
from __future__ import annotations

import base64
import io
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import strategies as st

from actions import attachments
from tests import factories

ROOT = Path(__file__).resolve().parent.parent
SEED = 20261202
# Fuzzing cases per operation and mode; the examples and coverage phases add the cases the
# document's examples and boundaries call for. The whole run takes about a minute.
MAX_EXAMPLES = 20

# One small well-formed file of each accepted upload type, for the multipart part's
# documented encoding (schemathesis would otherwise send random bytes, rightly a 415).
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwAD"
                       "hgGAWjR9awAAAABJRU5ErkJggg==")
UPLOAD_SAMPLES: dict[str, bytes] = {
    "image/png": PNG,
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
                  + b"\x00" * 32 + b"\xff\xd9",
    "image/gif": b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
    "image/webp": b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00/\x00\x00\x00\x10\x07\x10"
                  b"\x11\x11\x88\x88\xfe\x07\x00",
    "image/heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
    "application/pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R"
                       b" >>\n%%EOF\n",
    "text/plain": b"Booking for Tuesday 10:00, see you then.\n",
    "audio/mpeg": b"ID3\x03\x00\x00\x00\x00\x00\x21" + b"\x00" * 40 + b"\xff\xfb\x90\x64"
                  + b"\x00" * 400,
    "audio/mp4": b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom\x00\x00\x00\x00"
                 + b"\x00" * 64,
    "video/mp4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41" + b"\x00" * 64,
}


def test_every_accepted_upload_type_has_a_sample():
    assert set(UPLOAD_SAMPLES) == set(attachments.ALLOWED_TYPES)
    for content_type, data in UPLOAD_SAMPLES.items():
        assert attachments.sniff(data) == content_type


for _type, _data in UPLOAD_SAMPLES.items():
    schemathesis.openapi.media_type(_type, st.just(_data))


def conformance_config() -> schemathesis.Config:
    """schemathesis.toml, bounded and made deterministic for the test suite."""
    data = tomllib.loads((ROOT / "schemathesis.toml").read_text())
    data["seed"] = SEED
    # Generation speed depends on the machine's load, not on the API: no timing health check.
    data["suppress-health-check"] = ["too_slow"]
    data.setdefault("generation", {}).update(
        {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"})
    # The stateful phase and its link-following checks need the engine (`schemathesis run`).
    data.setdefault("phases", {})["stateful"] = {"enabled": False}
    # The coverage phase tries every value of an enum: for the ~600 time zones of a business
    # that is ~900 requests per operation, a minute. Examples and fuzzing still cover them.
    # Real files of every accepted type are registered above: here a 415 would be a bug.
    operations = [op for op in data.get("operations", [])
                  if op.get("include-path") != "/api/chat/attachments"]
    data["operations"] = [*operations, {
        "include-path-regex": r"^/api/businesses(/\{business_id\})?$",
        "phases": {"coverage": {"enabled": False}}}]
    return schemathesis.Config.from_dict(data)


@dataclass
class Accounts:
    """Who signs each request: the customer for conversations and uploads, the owner for
    the business's management; sign-ins that a request ends or changes are minted per case."""

    owner: factories.Account
    customer: factories.Account
    refresh_token: str
    mint_leaver: Callable[[], str]
    mint_founder: Callable[[], str]

    def token_for(self, method: str, path: str) -> str:
        if path == "/api/auth/refresh":
            return self.refresh_token
        if path == "/api/auth/logout":
            # Logout (maybe everywhere) ends its sign-in: a throwaway account's, each time.
            return self.mint_leaver()
        if path == "/api/businesses" and method == "POST":
            # Creating a business turns its customer into an owner: a fresh customer each time.
            return self.mint_founder()
        if path.startswith(("/api/chat/rooms", "/api/chat/attachments")):
            return self.customer.access_token
        return self.owner.access_token


# The accounts of the running test, for the auth provider below (which pytest cannot inject).
_signed_in: dict[str, Accounts] = {}


@pytest.fixture
def accounts(client) -> Iterator[Accounts]:
    business, owner = factories.business(client, hours=factories.ALWAYS_OPEN)
    factories.staff(client, owner)
    customer = factories.register(client)
    leaver = factories.register(client, name="Leaver")

    def post(path: str, account: factories.Account, **kwargs: object) -> dict:
        response = client.post(path, headers=account.headers, **kwargs)
        assert response.status_code in (200, 201, 202), response.get_json()
        return response.get_json()

    room = post("/api/chat/rooms/create", customer, json={"business_id": business["id"]})["room"]
    upload = post("/api/chat/attachments", customer, content_type="multipart/form-data",
                  data={"file": (io.BytesIO(PNG), "photo.png")})["attachment"]
    post(f"/api/chat/rooms/{room['id']}/messages", customer,
         json={"content": "Do you have time on Friday?", "attachment_ids": [upload["id"]]})
    post("/api/chat/faqs", owner, json={"question": "When are you open?",
                                        "answer": "Every day, around the clock."})
    post("/api/events", owner, json={"type": "booking.created", "data": {"customer": "Ann"}})

    _signed_in["accounts"] = Accounts(
        owner=owner, customer=customer, refresh_token=customer.refresh_token,
        mint_leaver=lambda: factories.login(client, leaver.email).access_token,
        mint_founder=lambda: factories.register(client).access_token)
    yield _signed_in["accounts"]
    _signed_in.clear()


@pytest.fixture
def api_schema(app, accounts: Accounts, request: pytest.FixtureRequest):
    # schemathesis 4.32 names each operation's subtest by rewriting node._nodeid, an attribute
    # pytest 9.2 no longer has (nodeid is derived from node._id): give it one to rewrite.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=conformance_config())


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.auth(refresh_interval=None)  # a token per case: they differ by operation
class SeededAccounts:
    """Bearer tokens of the seeded accounts. Schemathesis skips it for the cases that test a
    missing or bad token, which must then answer 401."""

    def get(self, case: schemathesis.Case, _ctx: schemathesis.AuthContext) -> str:
        return _signed_in["accounts"].token_for(case.method.upper(), case.operation.path)

    def set(self, case: schemathesis.Case, token: str, _ctx: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@schema.parametrize()
def test_the_api_answers_as_documented(case: schemathesis.Case):
    case.call_and_validate()
