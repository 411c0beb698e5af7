"""Attachments REST routes: upload a file, download one you may see."""
from __future__ import annotations

from apiflask import APIBlueprint
from apiflask.fields import File, Integer, Nested, String
from flask import request, send_file
from flask_jwt_extended import jwt_required

from actions import attachments
from web.schemas import Lenient, Out
from web.tokens import current_actor

bp = APIBlueprint("attachments", __name__, url_prefix="/api/chat", tag="Attachments")


class UploadIn(Lenient):
    file = File(required=True, metadata={"minLength": 1, "description": (
        "The file. Its type is read from its bytes, not from the part's Content-Type."
    )})


class AttachmentOut(Out):
    id = Integer()
    filename = String()
    content_type = String()
    size = Integer(metadata={"description": "Bytes"})
    url = String(metadata={"description": "Where to download it, with the bearer token"})
    created_at = String()


class AttachmentEnvelope(Out):
    attachment = Nested(AttachmentOut)


_UPLOAD_DESCRIPTION = (
    "Upload one file as the multipart field `file`; send its `id` in `attachment_ids` "
    "of a message to share it. Allowed types (sniffed from the content): "
    + ", ".join(sorted(attachments.ALLOWED_TYPES))
    + ". Larger than MAX_UPLOAD_MB answers 413, another type 415, an empty file 400."
)


@bp.post("/attachments")
@jwt_required()
@bp.input(UploadIn, location="files", arg_name="files")
@bp.output(AttachmentEnvelope, status_code=201)
@bp.doc(summary="Upload an attachment", description=_UPLOAD_DESCRIPTION,
        security="BearerAuth", responses=[400, 401, 413, 415])
def upload_attachment(files: dict):
    attachment = attachments.upload(current_actor(), files["file"])
    return {"attachment": attachment.to_dict()}


_BINARY = {"schema": {"type": "string", "format": "binary"}}
# Served with the type sniffed at upload, so a client can show an image or play a clip.
_FILE_CONTENT = {content_type: _BINARY for content_type in sorted(attachments.ALLOWED_TYPES)}
_NO_BODY = {"content": {}}


@bp.get("/attachments/<int:attachment_id>")
@jwt_required()
@bp.doc(summary="Download an attachment",
        description="For its uploader and for everyone who may see the room it was sent in; "
        "anyone else gets 404. Served as a download (Content-Disposition: attachment) with the "
        "Content-Type sniffed at upload. Supports Range (206, 416) and If-None-Match (304).",
        security="BearerAuth", responses={
            200: {"description": "The file", "content": _FILE_CONTENT},
            206: {"description": "The requested byte range of the file",
                  "content": _FILE_CONTENT},
            304: {"description": "Not modified (If-None-Match matched its ETag)", **_NO_BODY},
            401: "Authentication error",
            404: "Not found",
            416: "The Range lies outside the file",
        })
def download_attachment(attachment_id: int):
    attachment, stream = attachments.open_for_download(current_actor(), attachment_id)
    response = send_file(stream, mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.filename, conditional=False,
                         etag=f"attachment-{attachment.id}-{attachment.size}")
    # send_file cannot size a plain stream; with the size known, Range works for media players.
    response.content_length = attachment.size
    response = response.make_conditional(request, accept_ranges=True,
                                         complete_length=attachment.size)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Revalidated on every use, so a user who loses access to the room stops getting it.
    response.headers["Cache-Control"] = "private, no-cache"
    # Should a browser render it anyway, it runs no script and loads nothing.
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
