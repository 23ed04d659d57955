"""The OpenAPI 3.1 description of the web API, served at ``/openapi.json``."""
from __future__ import annotations

from typing import Optional

from ... import __version__
from ..explain import IMAGE_NAMES
from ..schema import Field, detect_result_schema, object_schema
from .media import ACCEPTED_TYPES, MAX_FORM_FIELD_BYTES, VIDEO_TYPES

_PNG = {"type": "string", "contentEncoding": "base64", "contentMediaType": "image/png"}
#: What ``?explain=1`` adds to each face of a detect result.
_EXPLAIN = {"explain": {"type": "object", "description": "with ?explain=1",
                        "properties": {k: _PNG for k in IMAGE_NAMES}},
            "occlusion_range": {"type": "array", "items": {"type": "number"}, "description":
                                "with ?explain=1: lowest and highest p_fake drop when a region "
                                "of the eye band is hidden"}}
#: One key frame of a video result (``app.key_frames_json``).
KEY_FRAME = (
    Field("frame", {"type": "integer"}, False, "the frame's index in the file"),
    Field("t", {"type": "number"}, False, "its time in seconds"),
    Field("p_fake", {"type": "number", "minimum": 0, "maximum": 1}, False, "the deciding track's p_fake there"),
    Field("image", _PNG, False, "the deciding track's face there, with a margin, as a thumbnail"),
)
#: What ``?explain=1`` adds to a video's result.
_KEY_FRAMES = {"key_frames": {"type": "array", "items": object_schema(KEY_FRAME), "description":
                              "with ?explain=1, videos only: the few sampled frames where the deciding track "
                              "(the most-fake steady one) was most fake, in time order"}}
_ERROR = {"type": "object", "required": ["error", "status"],
          "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}}


def _json(schema_ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


def openapi_spec(max_upload_bytes: int, max_video_upload_bytes: Optional[int] = None) -> dict:
    """The API description, with this server's upload limits (None: the video limit is not stated)."""
    image_body = {"type": "string", "format": "binary", "maxLength": max_upload_bytes}
    video_body = {"type": "string", "format": "binary"}
    video_limit = ""
    if max_video_upload_bytes is not None:
        video_body["maxLength"] = max_video_upload_bytes
        video_limit = f", {max_video_upload_bytes} for a video"
    any_body = {"type": "string", "format": "binary", "description": "an image, or a video (mp4, webm, mov, mkv, "
                "avi) by its media type or, with a generic type, by its file name's suffix"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "eyegrad", "version": __version__,
                 "description": "Tells real face photos and videos from deepfakes by the gradients of the eye region."},
        "paths": {
            "/api/detect": {"post": {
                "summary": "Classify one image or video file (the detect result of docs/api.md)",
                "parameters": [{"name": "explain", "in": "query", "required": False,
                                "schema": {"type": "boolean", "default": False},
                                "description": "add per-face explanation images of an image, "
                                               "the key frames of a video (base64 PNG)"}],
                "requestBody": {"required": True, "content": {
                    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                       "properties": {"file": any_body}}},
                    **{ctype: {"schema": image_body} for ctype in ACCEPTED_TYPES},
                    **{ctype: {"schema": video_body} for ctype in VIDEO_TYPES},
                    "video/*": {"schema": {**video_body, "description": "another video type: only with a video "
                                           "file name (X-Filename) ending in .mp4, .webm, .mov, .mkv or .avi"}},
                    "application/octet-stream": {"schema": any_body}}},
                "responses": {
                    "200": _json("DetectResult", "a verdict: real, fake, uncertain or no_face"),
                    "400": _json("Error", "no file or an empty upload"),
                    "413": _json("Error", f"upload larger than its limit ({max_upload_bytes} bytes "
                                          f"for an image{video_limit}), or a form field other than 'file' "
                                          f"over {MAX_FORM_FIELD_BYTES} bytes"),
                    "415": _json("Error", "not an image or video media type"),
                    "422": _json("DetectResult", "the file is not a usable image or video (verdict 'error')"),
                    "500": _json("Error", "an unexpected failure"),
                    "503": _json("Error", "not finished within the server's timeout; retry later")}}},
            "/api/info": {"get": {"summary": "Model, verdict rule, accepted files and upload limits",
                                  "responses": {"200": {"description": "server and model information"}}}},
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "the server is up"}}}},
        },
        "components": {"schemas": {
            "Error": _ERROR,
            "DetectResult": detect_result_schema(_EXPLAIN, _KEY_FRAMES),
        }},
    }
