"""Attachments: upload, link to a message, list for messages, open for download.

The type of a file is what its bytes say, never what the client claims: a
client-chosen Content-Type or extension would let anyone serve HTML or an
executable from our origin under a harmless name.
"""
from __future__ import annotations

import codecs
import logging
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import BinaryIO, cast

import filetype
from flask import current_app
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from actions.actors import Actor
from actions.errors import DomainError, InvalidInput, NotFound, TooLarge, Unprocessable
from infra import tx
from infra.storage import get_storage, new_key
from models import db
from models.chat import Attachment

log = logging.getLogger(__name__)

TEXT_PLAIN = "text/plain"
# Each allowed type with the extensions a download may keep; the first is the one added
# when the client's name does not fit, so a text file named x.html never opens as HTML.
ALLOWED_TYPES: dict[str, tuple[str, ...]] = {
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg", "jpe"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "image/heic": ("heic", "heif"),  # what an iPhone camera takes
    "application/pdf": ("pdf",),
    TEXT_PLAIN: ("txt", "text", "log", "csv", "md"),
    "audio/mpeg": ("mp3", "mpga"),
    "audio/mp4": ("m4a", "mp4"),
    "video/mp4": ("mp4", "m4v"),
}
# filetype names some allowed formats by a narrower type that clients handle as the wider one.
_ALIASES = {"image/apng": "image/png", "video/x-m4v": "video/mp4"}
SNIFF_BYTES = 8192  # what filetype itself looks at
MAX_FILENAME = 255
MAX_PER_MESSAGE = 10


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415
    default_message = "This type of file cannot be attached."


def _limit_bytes() -> int:
    return current_app.config["SETTINGS"].max_upload_mb * 1024 * 1024


def _too_large() -> TooLarge:
    mb = current_app.config["SETTINGS"].max_upload_mb
    return TooLarge(f"The file is larger than {mb} MB.")


def _read_head(stream: BinaryIO) -> bytes:
    # A stream may return short reads; keep going until the sniff window is full or EOF.
    head = b""
    while len(head) < SNIFF_BYTES:
        chunk = stream.read(SNIFF_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _unsupported(detected: str | None) -> UnsupportedMediaType:
    what = f"a {detected} file" if detected else "a file of an unknown type"
    allowed = ", ".join(sorted(ALLOWED_TYPES))
    return UnsupportedMediaType(f"This is {what}; allowed types: {allowed}.")


def sniff(head: bytes) -> str:
    """The allowed content type that the first bytes show, or UnsupportedMediaType.

    Text is only a guess from the head here; the whole file is checked while it streams.
    """
    kind = filetype.guess(head)
    if kind is not None:
        mime = _ALIASES.get(kind.mime, kind.mime)
        if mime not in ALLOWED_TYPES:
            raise _unsupported(kind.mime)
        return mime
    if b"\x00" not in head and _utf8_prefix_ok(head):
        return TEXT_PLAIN
    raise _unsupported(None)


def _utf8_prefix_ok(head: bytes) -> bool:
    # The head may end inside a multi-byte character, so decode it as an unfinished stream.
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


class _CheckedReader:
    """Replays the sniffed head, then the rest, counting bytes as they pass.

    Raising here stops Storage.save midway, which removes the partial file: the
    size is what arrives, not what Content-Length promised.
    """

    def __init__(self, head: bytes, rest: BinaryIO, limit: int, is_text: bool) -> None:
        self._head = head
        self._rest = rest
        self._limit = limit
        self._decoder = codecs.getincrementaldecoder("utf-8")() if is_text else None
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        if self._head:
            chunk, self._head = self._head, b""
        else:
            chunk = self._rest.read(size)
        self.size += len(chunk)
        if self.size > self._limit:
            raise _too_large()
        if self._decoder is not None:
            self._check_text(chunk)
        return chunk

    def _check_text(self, chunk: bytes) -> None:
        try:
            self._decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            raise _unsupported(None) from exc
        if b"\x00" in chunk:
            raise _unsupported(None)


def clean_filename(raw: str | None, content_type: str) -> str:
    """A safe display name whose extension matches the sniffed type."""
    name = PurePosixPath((raw or "").replace("\\", "/")).name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    # Sanitise the parts apart, so a name that is all non-ASCII still keeps its extension.
    stem = secure_filename(stem) or "file"
    ext = secure_filename(ext).lower()
    allowed = ALLOWED_TYPES[content_type]
    if ext in allowed:
        suffix = f".{ext}"
    elif ext and len(ext) <= 16:
        suffix = f".{ext}.{allowed[0]}"  # keeps what the sender called it, opens as what it is
    else:
        suffix = f".{allowed[0]}"
    return stem[: MAX_FILENAME - len(suffix)] + suffix


def upload(actor: Actor, file: FileStorage | None) -> Attachment:
    """Store an upload of the actor, not yet attached to any message."""
    if file is None or file.stream is None:
        raise InvalidInput("Send the file in the multipart field 'file'.")
    limit = _limit_bytes()
    head = _read_head(file.stream)
    if not head:
        raise InvalidInput("The file is empty.")
    if len(head) > limit:
        raise _too_large()
    content_type = sniff(head)

    storage = get_storage()
    key = new_key()
    reader = _CheckedReader(head, file.stream, limit, content_type == TEXT_PLAIN)
    storage.save(key, cast(BinaryIO, reader))  # read() is all that save uses
    attachment = Attachment(
        uploader_id=actor.id,
        filename=clean_filename(file.filename, content_type),
        content_type=content_type,
        size=reader.size,
        storage_key=key,
    )
    db.session.add(attachment)
    try:
        tx.commit()
    except Exception:
        storage.delete(key)
        raise
    return attachment


def _ids(attachment_ids: object) -> list[int]:
    if not isinstance(attachment_ids, list | tuple):
        raise InvalidInput("attachment_ids must be a list of attachment ids.")
    ids: list[int] = []
    for value in attachment_ids:
        # bool is an int to Python, but true is no attachment id.
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInput("attachment_ids must be a list of attachment ids.")
        if value not in ids:
            ids.append(value)
    if len(ids) > MAX_PER_MESSAGE:
        raise InvalidInput(f"A message can carry at most {MAX_PER_MESSAGE} attachments.")
    return ids


def link_to_message(
    actor: Actor, room_id: int, message_id: int, attachment_ids: list[int]
) -> list[dict]:
    """Attach the actor's unsent uploads to a new message. The caller commits."""
    ids = _ids(attachment_ids)
    if not ids:
        return []
    # Locked, so two sends racing for one upload cannot both take it.
    rows = db.session.scalars(
        select(Attachment).where(Attachment.id.in_(ids)).with_for_update()
    ).all()
    by_id = {row.id: row for row in rows}
    unusable = [
        i for i in ids
        if i not in by_id or by_id[i].uploader_id != actor.id or by_id[i].message_id is not None
    ]
    if unusable:
        # Someone else's upload reads the same as a missing one, so ids reveal nothing.
        # Well-formed ids that cannot be used: 422, where a malformed list is a 400.
        raise Unprocessable(
            "These attachments cannot be sent: "
            + ", ".join(map(str, unusable))
            + ". Attach only files you uploaded yourself and have not sent yet.",
            code="invalid_attachment",
            details={"attachment_ids": unusable},
        )
    for attachment in rows:
        attachment.message_id = message_id
        attachment.room_id = room_id
    return [by_id[i].to_dict() for i in ids]


def dicts_for_messages(message_ids: list[int]) -> dict[int, list[dict]]:
    """The attachments of each message, every requested id present, in one query."""
    result: dict[int, list[dict]] = {message_id: [] for message_id in message_ids}
    if not result:
        return result
    rows = db.session.scalars(
        select(Attachment)
        .where(Attachment.message_id.in_(list(result)))
        .order_by(Attachment.message_id, Attachment.id)
    )
    for attachment in rows:
        result[attachment.message_id].append(attachment.to_dict())
    return result


def open_for_download(actor: Actor, attachment_id: int) -> tuple[Attachment, BinaryIO]:
    """The attachment and its bytes, for its uploader or whoever may see its room.

    Everything else is NotFound, so nobody learns which ids exist.
    """
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("Attachment not found.")
    if attachment.uploader_id != actor.id:
        if attachment.room_id is None:
            raise NotFound("Attachment not found.")
        # Imported here: messages imports this module, and rooms may well import messages.
        from actions.rooms import visible_room

        try:
            visible_room(actor, attachment.room_id)
        except NotFound:
            raise NotFound("Attachment not found.") from None
    try:
        stream = get_storage().open(attachment.storage_key)
    except FileNotFoundError:
        log.error("attachment %s has a row but no stored file", attachment.id)
        raise NotFound("The file of this attachment is no longer available.") from None
    return attachment, stream


def delete_unsent(older_than: timedelta = timedelta(days=1), limit: int = 500) -> int:
    """Remove uploads never attached to a message; meant for a periodic sweep."""
    cutoff = datetime.now(UTC) - older_than
    rows = db.session.scalars(
        select(Attachment)
        .where(Attachment.message_id.is_(None), Attachment.created_at < cutoff)
        .order_by(Attachment.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    keys = [row.storage_key for row in rows]
    for row in rows:
        db.session.delete(row)
    tx.commit()
    storage = get_storage()
    # Files go after the commit: a file without a row is litter, a row without a file a 404.
    for key in keys:
        storage.delete(key)
    return len(keys)
