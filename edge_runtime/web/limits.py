"""The web app's defaults, read by ``create_app`` and by ``eyegrad serve``'s options (no Flask import,
so the command line shows them without the web extra)."""
from __future__ import annotations

#: Detectors working in parallel, each with its own interpreter.
DEFAULT_WORKERS = 2
#: Largest accepted image upload (file bytes), by default.
DEFAULT_MAX_UPLOAD = 8 * 1024 * 1024
#: Largest accepted video upload (file bytes), by default: a short clip.
DEFAULT_MAX_VIDEO_UPLOAD = 32 * 1024 * 1024
#: Seconds before a request gives up, by default; a video's reading stops at ``VIDEO_TIME_SHARE`` of it.
DEFAULT_TIMEOUT_S = 30.0
