"""The Flask app: the page, ``POST /api/detect``, ``/api/info``, ``/healthz`` and ``/openapi.json``.

Uploads stay in memory (never written to disk), only the three page files are
served (never a path from the request), every error is a JSON object with a
one-line ``error`` message, and detection runs on a fixed pool of detectors with
a timeout per request.
"""
from __future__ import annotations

import base64
import io
import logging
import os
from pathlib import Path
from typing import Optional, Tuple, Union

from flask import Flask, Request, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..detector import Detector
from ..explain import explain_result, explanation_pngs
from ..results import DetectResult, Verdict
from .openapi import openapi_spec
from .pool import DetectorPool, PoolTimeout

#: Largest accepted upload (file bytes), by default.
DEFAULT_MAX_UPLOAD = 8 * 1024 * 1024
#: Room for the multipart envelope around the file.
MULTIPART_SLACK = 64 * 1024
#: Image types accepted; a generic or missing type is accepted too and the bytes decide.
ACCEPTED_TYPES = ("image/jpeg", "image/png", "image/webp", "image/bmp", "image/gif", "image/tiff")
GENERIC_TYPES = ("", "application/octet-stream")
#: The page: URL -> (file in this package, content type). Nothing else is served.
PAGE_FILES = {"/": ("index.html", "text/html; charset=utf-8"),
              "/app.css": ("app.css", "text/css; charset=utf-8"),
              "/app.js": ("app.js", "text/javascript; charset=utf-8")}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
log = logging.getLogger("eyegrad.web")


class MemoryRequest(Request):
    """A request whose file uploads are kept in memory, never spooled to a temporary file."""

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()


class ApiError(Exception):
    """An HTTP error answered as ``{"error": message, "status": code}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def error_response(status: int, message: str) -> Tuple[Response, int]:
    return jsonify({"error": " ".join(message.split()), "status": status}), status


def upload_name(raw: Optional[str]) -> Optional[str]:
    """The base name of a client's file name, as a label only (never used as a path)."""
    name = os.path.basename((raw or "").replace("\\", "/"))[:255]
    return name or None


def read_upload(req: Request, max_bytes: int) -> Tuple[bytes, Optional[str]]:
    """The uploaded bytes and file name: multipart field ``file`` or the raw body."""
    if req.mimetype == "multipart/form-data":
        if "file" not in req.files:
            raise ApiError(400, "no 'file' field: send the image as multipart field 'file' or as the request body")
        part = req.files["file"]
        ctype, name, data = part.mimetype, upload_name(part.filename), part.read()
    else:
        ctype, name, data = req.mimetype, upload_name(req.headers.get("X-Filename")), req.get_data(cache=False)
    if ctype not in ACCEPTED_TYPES and ctype not in GENERIC_TYPES:
        raise ApiError(415, f"unsupported media type '{ctype}': send a JPEG, PNG, WebP, BMP, GIF or TIFF image "
                            "(a raw body needs a Content-Type such as image/jpeg)")
    if not data:
        raise ApiError(400, "empty upload: 0 bytes")
    if len(data) > max_bytes:
        raise ApiError(413, f"upload too large: {len(data)} bytes, the limit is {max_bytes}")
    return data, name


def detect_json(detector: Detector, data: bytes, name: Optional[str], explain: bool) -> dict:
    """The detect result (docs/api.md) of one upload; with ``explain``, base64 PNGs per face."""
    result: DetectResult = detector.detect(data, path=name)
    out = result.to_dict()
    if explain:
        for face, expl in zip(out["faces"], explain_result(detector.model, data, result)):
            face["explain"] = {k: base64.b64encode(v).decode("ascii") for k, v in explanation_pngs(expl).items()}
            face["occlusion_range"] = [round(float(expl.occlusion.min()), 6), round(float(expl.occlusion.max()), 6)]
    return out


def model_info(pool: DetectorPool, max_bytes: int) -> dict:
    """What the page needs to know: the model's verdict rule and the upload limits."""
    meta = pool.model.metadata
    return {"model": pool.model.path.name, "feature_version": meta.feature_version,
            "threshold": pool.model.threshold, "uncertain_band": list(pool.model.uncertain_band),
            "labels": meta.labels, "max_upload_bytes": max_bytes, "accepted_types": list(ACCEPTED_TYPES),
            "workers": pool.size}


def create_app(model_path: Union[str, os.PathLike, None] = None, workers: int = 2,
               num_threads: Optional[int] = None, max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
               timeout_s: float = 30.0) -> Flask:
    """The eyegrad web app with ``workers`` detectors (each with its own interpreter)."""
    app = Flask(__name__, static_folder=None)
    app.request_class = MemoryRequest
    app.config.update(MAX_CONTENT_LENGTH=max_upload_bytes + MULTIPART_SLACK, EYEGRAD_WORKERS=workers)
    pool = DetectorPool(lambda: Detector(model_path, num_threads=num_threads), workers)
    app.extensions["eyegrad_pool"] = pool
    info = model_info(pool, max_upload_bytes)
    here = Path(__file__).resolve().parent
    page = {url: ((here / fname).read_bytes(), ctype) for url, (fname, ctype) in PAGE_FILES.items()}

    def page_file() -> Response:
        body, ctype = page[request.path]
        return Response(body, content_type=ctype)

    for url in PAGE_FILES:
        app.add_url_rule(url, f"page{url}", page_file, methods=["GET"])

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok", "workers": pool.size, "idle_workers": pool.idle})

    @app.get("/api/info")
    def api_info():
        return jsonify(info)

    @app.get("/openapi.json")
    def openapi():
        return jsonify(openapi_spec(max_upload_bytes))

    @app.post("/api/detect")
    def api_detect():
        data, name = read_upload(request, max_upload_bytes)
        explain = request.args.get("explain", "0").lower() in ("1", "true", "yes")
        result = pool.run(lambda d: detect_json(d, data, name, explain), timeout_s)
        return jsonify(result), (422 if result["verdict"] == Verdict.ERROR else 200)

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, str(exc))

    @app.errorhandler(PoolTimeout)
    def timeout(exc: PoolTimeout):
        resp, status = error_response(503, str(exc))
        resp.headers["Retry-After"] = "5"
        return resp, status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        return error_response(413, f"upload too large: the limit is {max_upload_bytes} bytes")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return error_response(exc.code or 500, f"{exc.name}: {exc.description}")

    @app.errorhandler(Exception)
    def internal_error(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, f"internal error ({type(exc).__name__}): the request was not processed")

    @app.after_request
    def secure(resp: Response) -> Response:
        resp.headers.update(SECURITY_HEADERS)
        return resp

    return app
