"""Files handed to a staff member's browser as downloads only: never rendered in the console's origin."""

from __future__ import annotations

from flask import Response
from mai_chassis.uploads import sanitize_file_name

__all__ = ["EXTENSIONS", "attachment_response"]

#: The only kinds the platform accepts as uploads, and the extension each is saved with.
EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def attachment_response(content: bytes, *, media_type: str, file_name: str) -> Response:
    """``content`` as a download: ``Content-Disposition: attachment`` with a sanitised ASCII name (the
    extension its checked type gives), served as opaque bytes in a sandbox so that even a browser
    that ignored the disposition would run nothing of it in our origin."""
    extension = EXTENSIONS.get(media_type, "bin")
    stem = sanitize_file_name(file_name).rsplit(".", 1)[0]
    ascii_stem = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in stem)[:80] or "file"
    response = Response(content, mimetype="application/octet-stream")
    response.headers["Content-Disposition"] = f'attachment; filename="{ascii_stem}.{extension}"'
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
