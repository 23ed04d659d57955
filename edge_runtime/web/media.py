"""What ``POST /api/detect`` accepts: media types and form fields (the app checks them, the OpenAPI
description lists them)."""
from __future__ import annotations

#: Image types accepted; a generic or missing type is accepted too and the bytes decide.
ACCEPTED_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp", "image/gif", "image/tiff")
#: Video types accepted, with the suffix of their temporary file when the file name has no video suffix.
VIDEO_TYPES = {"video/mp4": ".mp4", "video/webm": ".webm", "video/quicktime": ".mov",
               "video/x-matroska": ".mkv", "video/x-msvideo": ".avi"}
GENERIC_TYPES = ("", "application/octet-stream")
#: Most bytes a multipart part other than ``file`` (its name, headers and value) may hold (Flask's default).
MAX_FORM_FIELD_BYTES = 500_000
