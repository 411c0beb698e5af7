"""Attachments REST routes: upload a file, download one you may see."""
from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import File, Integer, Nested, String
from apiflask.schemas import FileSchema
from flask import request, send_file
from flask_jwt_extended import jwt_required

from actions import attachments
from web.schemas import Lenient
from web.tokens import current_actor

bp = APIBlueprint("attachments", __name__, url_prefix="/api/chat", tag="Attachments")


class UploadIn(Lenient):
    file = File(required=True, metadata={"description": (
        "The file. Its type is read from its bytes, not from the part's Content-Type."
    )})


class AttachmentOut(Schema):
    id = Integer()
    filename = String()
    content_type = String()
    size = Integer(metadata={"description": "Bytes"})
    url = String(metadata={"description": "Where to download it, with the bearer token"})
    created_at = String()


class AttachmentEnvelope(Schema):
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


@bp.get("/attachments/<int:attachment_id>")
@jwt_required()
@bp.output(FileSchema(type="string", format="binary"), content_type="application/octet-stream",
           description="The file, always as a download, with its sniffed Content-Type")
@bp.doc(summary="Download an attachment",
        description="For its uploader and for everyone who may see the room it was sent in; "
        "anyone else gets 404. Supports Range and If-None-Match.",
        security="BearerAuth", responses=[401, 404])
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
