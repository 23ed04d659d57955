"""The OpenAPI 3.1 description of the web API, served at ``/openapi.json``."""
from __future__ import annotations

from ... import __version__
from ..explain import IMAGE_NAMES
from ..schema import detect_result_schema

_PNG = {"type": "string", "contentEncoding": "base64", "contentMediaType": "image/png"}
#: What ``?explain=1`` adds to each face of a detect result.
_EXPLAIN = {"explain": {"type": "object", "description": "with ?explain=1",
                        "properties": {k: _PNG for k in IMAGE_NAMES}},
            "occlusion_range": {"type": "array", "items": {"type": "number"}, "description":
                                "with ?explain=1: lowest and highest p_fake drop when a region "
                                "of the eye band is hidden"}}
_ERROR = {"type": "object", "required": ["error", "status"],
          "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}}


def _json(schema_ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}}


def openapi_spec(max_upload_bytes: int) -> dict:
    """The API description, with this server's upload limit."""
    image_body = {"type": "string", "format": "binary", "maxLength": max_upload_bytes}
    return {
        "openapi": "3.1.0",
        "info": {"title": "eyegrad", "version": __version__,
                 "description": "Tells real face photos from deepfakes by the gradients of the eye region."},
        "paths": {
            "/api/detect": {"post": {
                "summary": "Classify one image (the detect result of docs/api.md)",
                "parameters": [{"name": "explain", "in": "query", "required": False,
                                "schema": {"type": "boolean", "default": False},
                                "description": "add per-face explanation images (base64 PNG)"}],
                "requestBody": {"required": True, "content": {
                    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                                       "properties": {"file": image_body}}},
                    "image/*": {"schema": image_body},
                    "application/octet-stream": {"schema": image_body}}},
                "responses": {
                    "200": _json("DetectResult", "a verdict: real, fake, uncertain or no_face"),
                    "400": _json("Error", "no file or an empty upload"),
                    "413": _json("Error", f"upload larger than {max_upload_bytes} bytes"),
                    "415": _json("Error", "not an image media type"),
                    "422": _json("DetectResult", "the bytes are not a usable image (verdict 'error')"),
                    "503": _json("Error", "not finished within the server's timeout; retry later")}}},
            "/api/info": {"get": {"summary": "Model, verdict rule and upload limits",
                                  "responses": {"200": {"description": "server and model information"}}}},
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "the server is up"}}}},
        },
        "components": {"schemas": {
            "Error": _ERROR,
            "DetectResult": detect_result_schema(_EXPLAIN),
        }},
    }
