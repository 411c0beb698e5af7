"""Attachments: upload with sniffed types and an exact size limit, private storage,
download only for those who may see the file."""
from __future__ import annotations

import io
import stat
import struct
import zlib
from pathlib import Path

import pytest
from sqlalchemy import select

from tests import factories

UPLOAD = "/api/chat/attachments"


def png_bytes(padding: int = 0) -> bytes:
    """A valid 1x1 PNG; padding adds an ancillary chunk to make it as large as needed."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    extra = chunk(b"tEXt", b"pad\x00" + b"x" * padding) if padding else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + extra + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


# The head of an iPhone photo: an ISO box "ftyp" with brand heic.
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
TEXT = "Booking for Tuesday 10:00 — see you at the salon. ✂️\n".encode()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.fixture(autouse=True)
def upload_dir(app, tmp_path: Path, monkeypatch) -> Path:
    """A private upload directory per test, so 'nothing was stored' can be checked."""
    directory = tmp_path / "uploads"
    monkeypatch.setattr(app.config["SETTINGS"], "upload_dir", directory)
    return directory


def stored_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()] if directory.exists() else []


def attachment_rows(app) -> list:
    from models import db
    from models.chat import Attachment

    with app.app_context():
        rows = db.session.scalars(select(Attachment)).all()
        db.session.expunge_all()
        return rows


def upload(client, account, data: bytes, filename: str = "file.bin",
           content_type: str = "application/octet-stream"):
    return client.post(UPLOAD, headers=account.headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), filename, content_type)})


def uploaded(client, account, data: bytes, filename: str = "file.bin") -> dict:
    response = upload(client, account, data, filename)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["attachment"]


# --- upload -------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "filename", "claimed", "expected"), [
    (png_bytes(), "pic.png", "application/x-msdownload", "image/png"),
    (PDF, "invoice.pdf", "text/html", "application/pdf"),
    (TEXT, "notes.txt", "image/png", "text/plain"),
    (HEIC, "IMG_0001.heic", "application/octet-stream", "image/heic"),
], ids=["png", "pdf", "text", "heic"])
def test_upload_stores_the_sniffed_type_not_the_claimed_one(client, data, filename, claimed,
                                                            expected):
    customer = factories.register(client)
    response = upload(client, customer, data, filename, claimed)
    assert response.status_code == 201, response.get_json()
    attachment = response.get_json()["attachment"]
    assert attachment["content_type"] == expected
    assert attachment["size"] == len(data)
    assert attachment["filename"] == filename
    assert attachment["url"] == f"/api/chat/attachments/{attachment['id']}"
    assert attachment["created_at"]


def test_an_executable_named_png_is_refused_and_not_stored(app, client, upload_dir):
    customer = factories.register(client)
    response = upload(client, customer, EXE, "holiday.png", "image/png")
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"
    assert attachment_rows(app) == []
    assert stored_files(upload_dir) == []


def test_binary_of_unknown_type_is_refused(client):
    customer = factories.register(client)
    response = upload(client, customer, b"\x00\x01\x02garbage\x00" * 50, "data.txt", "text/plain")
    assert response.status_code == 415


def test_text_that_turns_binary_after_the_sniffed_head_is_refused(app, client, upload_dir):
    customer = factories.register(client)
    data = b"a" * 20_000 + b"\xff\xfe\x00binary"
    response = upload(client, customer, data, "log.txt", "text/plain")
    assert response.status_code == 415
    assert attachment_rows(app) == []
    assert stored_files(upload_dir) == []


def test_empty_file_is_invalid(client):
    customer = factories.register(client)
    response = upload(client, customer, b"", "empty.txt", "text/plain")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_input"


def test_missing_file_field_is_invalid(client):
    customer = factories.register(client)
    response = client.post(UPLOAD, headers=customer.headers, content_type="multipart/form-data",
                           data={"other": (io.BytesIO(png_bytes()), "pic.png")})
    assert response.status_code == 400
    assert "file" in response.get_json()["error"]["message"]
    response = client.post(UPLOAD, headers=customer.headers, json={"file": "x"})
    assert response.status_code == 400


def test_upload_needs_a_token(client):
    response = client.post(UPLOAD, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(png_bytes()), "pic.png", "image/png")})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_over_the_limit_is_413_and_leaves_nothing(app, client, upload_dir, monkeypatch):
    monkeypatch.setattr(app.config["SETTINGS"], "max_upload_mb", 1)
    customer = factories.register(client)
    response = upload(client, customer, png_bytes(padding=1_500_000), "big.png", "image/png")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert attachment_rows(app) == []
    assert stored_files(upload_dir) == []


def test_a_body_past_max_content_length_gets_the_same_413(app, client, upload_dir,
                                                          monkeypatch):
    # The app's own cap (MAX_UPLOAD_MB + 64 KB) stops huge bodies before they are parsed.
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 100_000)
    customer = factories.register(client)
    response = upload(client, customer, png_bytes(padding=200_000), "big.png", "image/png")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert stored_files(upload_dir) == []


def test_exactly_the_limit_is_accepted(app, client, monkeypatch):
    monkeypatch.setattr(app.config["SETTINGS"], "max_upload_mb", 1)
    customer = factories.register(client)
    attachment = uploaded(client, customer, b"z" * (1024 * 1024), "exact.txt")
    assert attachment["size"] == 1024 * 1024
    response = upload(client, customer, b"z" * (1024 * 1024 + 1), "over.txt")
    assert response.status_code == 413


def test_file_is_stored_privately_under_a_random_name(app, client, upload_dir):
    customer = factories.register(client)
    attachment = uploaded(client, customer, png_bytes(), "my-secret-photo.png")
    [row] = attachment_rows(app)
    files = stored_files(upload_dir)
    assert len(files) == 1
    path = files[0]
    assert path.name == row.storage_key
    assert "my-secret-photo" not in str(path)
    assert len(row.storage_key) == 32
    assert path.read_bytes() == png_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (path.parent, path.parent.parent, upload_dir):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert attachment["id"] == row.id


@pytest.mark.parametrize(("sent", "kept", "data"), [
    ("../../etc/passwd.txt", "passwd.txt", TEXT),
    ("page.html", "page.html.txt", b"<script>alert(1)</script>"),
    ("drawing.svg", "drawing.svg.txt", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
    ("setup.exe", "setup.exe.png", png_bytes()),
    ("фото.PNG", "file.png", png_bytes()),
    ("", "file.pdf", PDF),
    ("a" * 400 + ".pdf", "a" * 251 + ".pdf", PDF),
])
def test_filename_is_sanitised_and_matches_the_type(client, sent, kept, data):
    customer = factories.register(client)
    assert uploaded(client, customer, data, sent)["filename"] == kept


# --- download -----------------------------------------------------------------------------


def test_uploader_downloads_with_safe_headers(client):
    customer = factories.register(client)
    attachment = uploaded(client, customer, png_bytes(), "pic.png")
    response = client.get(attachment["url"], headers=customer.headers)
    assert response.status_code == 200
    assert response.data == png_bytes()
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == "attachment; filename=pic.png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "private" in response.headers["Cache-Control"]
    assert response.headers["Content-Length"] == str(len(png_bytes()))


def test_download_supports_ranges_and_revalidation(client):
    customer = factories.register(client)
    attachment = uploaded(client, customer, TEXT, "notes.txt")
    first = client.get(attachment["url"], headers=customer.headers)
    assert first.headers["Content-Type"] == "text/plain; charset=utf-8"
    etag = first.headers["ETag"]
    again = client.get(attachment["url"], headers={**customer.headers, "If-None-Match": etag})
    assert again.status_code == 304
    part = client.get(attachment["url"], headers={**customer.headers, "Range": "bytes=0-6"})
    assert part.status_code == 206
    assert part.data == TEXT[:7]


def test_download_needs_a_token(client):
    customer = factories.register(client)
    attachment = uploaded(client, customer, PDF, "a.pdf")
    assert client.get(attachment["url"]).status_code == 401


def test_others_get_404_for_an_unsent_upload(client):
    customer = factories.register(client)
    attachment = uploaded(client, customer, PDF, "a.pdf")
    other_customer = factories.register(client)
    _, owner = factories.business(client, name="Elsewhere")
    staff = factories.staff(client, owner)
    for stranger in (other_customer, owner, staff):
        response = client.get(attachment["url"], headers=stranger.headers)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    missing = client.get(f"{UPLOAD}/{attachment['id'] + 1000}", headers=customer.headers)
    assert missing.status_code == 404


def test_missing_stored_file_is_404(app, client, upload_dir):
    customer = factories.register(client)
    attachment = uploaded(client, customer, PDF, "a.pdf")
    for path in stored_files(upload_dir):
        path.unlink()
    assert client.get(attachment["url"], headers=customer.headers).status_code == 404


def test_openapi_documents_both_routes(client):
    spec = client.get("/openapi.json").get_json()
    post = spec["paths"]["/api/chat/attachments"]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert "201" in post["responses"]
    get = spec["paths"]["/api/chat/attachments/{attachment_id}"]["get"]
    assert "404" in get["responses"]


# --- with the chat: send in a room, download as a participant -------------------------------


def _room_with_attachment(client) -> tuple[dict, dict, dict, factories.Account,
                                           factories.Account]:
    business, owner = factories.business(client, name="Salon", hours=factories.ALWAYS_OPEN)
    customer = factories.register(client)
    response = client.post("/api/chat/rooms/create", json={"business_id": business["id"]},
                           headers=customer.headers)
    assert response.status_code in (200, 201), response.get_json()
    room = response.get_json()["room"]
    attachment = uploaded(client, customer, png_bytes(), "haircut.png")
    response = client.post(f"/api/chat/rooms/{room['id']}/messages", headers=customer.headers,
                           json={"content": "Like this one?", "attachment_ids": [attachment["id"]]})
    assert response.status_code == 201, response.get_json()
    message = response.get_json()["message"]
    return room, message, attachment, customer, owner


def test_sent_attachment_travels_with_the_message(client):
    room, message, attachment, customer, _ = _room_with_attachment(client)
    [carried] = message["attachments"]
    assert carried["id"] == attachment["id"]
    assert carried["url"] == attachment["url"]
    assert carried["content_type"] == "image/png"
    history = client.get(f"/api/chat/rooms/{room['id']}/messages", headers=customer.headers)
    sent = [m for m in history.get_json()["messages"] if m["id"] == message["id"]]
    assert [a["id"] for a in sent[0]["attachments"]] == [attachment["id"]]


def test_room_staff_download_and_strangers_get_404(client):
    _, _, attachment, _, owner = _room_with_attachment(client)
    staff = factories.staff(client, owner)
    for member in (owner, staff):
        response = client.get(attachment["url"], headers=member.headers)
        assert response.status_code == 200
        assert response.data == png_bytes()
    other_customer = factories.register(client)
    _, other_owner = factories.business(client, name="Rival")
    for stranger in (other_customer, other_owner):
        assert client.get(attachment["url"], headers=stranger.headers).status_code == 404


def test_sending_someone_elses_or_an_already_sent_upload_is_refused(app, client):
    room, _, attachment, customer, _ = _room_with_attachment(client)
    messages_url = f"/api/chat/rooms/{room['id']}/messages"
    other = factories.register(client)
    foreign = uploaded(client, other, PDF, "theirs.pdf")
    for ids in ([foreign["id"]], [attachment["id"]], [foreign["id"] + 1000]):
        response = client.post(messages_url, headers=customer.headers,
                               json={"content": "sneaky", "attachment_ids": ids})
        assert response.status_code == 422, response.get_json()  # well-formed, not usable
        error = response.get_json()["error"]
        assert error["code"] == "invalid_attachment"
        assert str(ids[0]) in error["message"]
    rows = {row.id: row for row in attachment_rows(app)}
    assert rows[foreign["id"]].message_id is None
    history = client.get(messages_url, headers=customer.headers).get_json()["messages"]
    assert [m["content"] for m in history if m["sender_id"] == customer.id] == ["Like this one?"]


def test_unsent_uploads_are_swept_after_a_day(app, client, upload_dir):
    from datetime import timedelta

    from actions import attachments
    from models import db
    from models.base import utcnow
    from models.chat import Attachment

    customer = factories.register(client)
    old = uploaded(client, customer, PDF, "old.pdf")
    fresh = uploaded(client, customer, TEXT, "fresh.txt")
    with app.app_context():
        db.session.get(Attachment, old["id"]).created_at = utcnow() - timedelta(days=2)
        db.session.commit()
        assert attachments.delete_unsent(timedelta(days=1)) == 1
    assert [row.id for row in attachment_rows(app)] == [fresh["id"]]
    assert len(stored_files(upload_dir)) == 1
    assert client.get(old["url"], headers=customer.headers).status_code == 404
