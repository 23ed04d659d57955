"""The Flask app: the page, ``POST /api/detect``, ``/api/info``, ``/healthz`` and ``/openapi.json``.

Image uploads stay in memory (never written to disk). A video upload is written to a private
temporary file for the time of its detection only, because FFmpeg reads files, not bytes: made
by ``tempfile.mkstemp`` (mode 0600, in the system's temporary folder, with a video suffix) and
deleted when the detection ends, whatever its outcome. Only the three page files are served
(never a path from the request), every error is a JSON object with a one-line ``error`` message,
and detection runs on a fixed pool of detectors with a timeout per request; a video's reading
also stops after half of that timeout (``VIDEO_TIME_SHARE``), so no video holds a worker for long.
"""
from __future__ import annotations

import base64
import io
import logging
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, NamedTuple, Optional, Tuple, Union

import cv2
import numpy as np
from flask import Flask, Request, Response, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from ..boxes import Box
from ..datasets import VIDEO_SUFFIXES
from ..detector import Detector
from ..errors import InputError
from ..explain import explain_result, explanation_pngs, png_bytes
from ..results import TimelinePoint, TrackScore, Verdict, VideoSummary
from ..video import VideoOptions, read_frames
from .limits import DEFAULT_MAX_UPLOAD, DEFAULT_MAX_VIDEO_UPLOAD, DEFAULT_TIMEOUT_S, DEFAULT_WORKERS
from .media import ACCEPTED_TYPES, GENERIC_TYPES, MAX_FORM_FIELD_BYTES, VIDEO_TYPES
from .openapi import openapi_spec
from .pool import DetectorPool, PoolTimeout

#: Room for the multipart envelope around the file.
MULTIPART_SLACK = 64 * 1024
#: Share of the request timeout a video may take to read and score: the rest is left for waiting
#: in the queue, so a slow video gets its own error result (422) rather than the pool's 503.
VIDEO_TIME_SHARE = 0.5
#: With ``?explain=1``, a video result shows this many frames where its deciding track was most fake.
KEY_FRAMES = 3
#: A key frame's picture is the face box grown by this share of its size on every side ...
KEY_FRAME_MARGIN = 0.25
#: ... shrunk to at most this many pixels wide and high.
KEY_FRAME_SIZE = 320
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
    """The base name of a client's file name, as a label only (never used as a path), without
    control characters (a NUL, a line break) that could confuse whoever reads the result."""
    name = os.path.basename((raw or "").replace("\\", "/"))[:255]
    name = "".join(c for c in name if c.isprintable())
    return name or None


class Upload(NamedTuple):
    """An uploaded file: its bytes, its name (a label) and, for a video, the suffix of its temporary file."""

    data: bytes
    name: Optional[str]
    video_suffix: Optional[str] = None  # None: an image


def video_suffix(ctype: str, name: Optional[str]) -> Optional[str]:
    """The temporary file suffix of a video upload, or None when the upload is to be read as an image.

    A video is a listed video type, or a generic or other ``video/*`` type with a video file name
    (browsers name some types differently, e.g. ``video/vnd.avi``); the name's suffix wins because
    FFmpeg takes it as a hint of the container.
    """
    suffix = Path(name or "").suffix.lower()
    suffix = suffix if suffix in VIDEO_SUFFIXES else ""
    if ctype in VIDEO_TYPES:
        return suffix or VIDEO_TYPES[ctype]
    if suffix and (ctype in GENERIC_TYPES or ctype.startswith("video/")):
        return suffix
    return None


def read_upload(req: Request, max_bytes: int, max_video_bytes: int) -> Upload:
    """The uploaded file: multipart field ``file`` or the raw body, within its kind's size limit."""
    if req.mimetype == "multipart/form-data":
        if "file" not in req.files:
            raise ApiError(400, "no 'file' field: send the file as multipart field 'file' or as the request body")
        part = req.files["file"]
        ctype, name, data = part.mimetype, upload_name(part.filename), part.read()
    else:
        ctype, name, data = req.mimetype, upload_name(req.headers.get("X-Filename")), req.get_data(cache=False)
    suffix = video_suffix(ctype, name)
    if suffix is None and ctype not in ACCEPTED_TYPES and ctype not in GENERIC_TYPES:
        raise ApiError(415, f"unsupported media type '{ctype}': send a JPEG, PNG, WebP, BMP, GIF or TIFF image "
                            "or an MP4, WebM, MOV, MKV or AVI video (a raw body needs a Content-Type such as "
                            "image/jpeg or video/mp4)")
    if not data:
        raise ApiError(400, "empty upload: 0 bytes")
    limit = max_video_bytes if suffix else max_bytes
    if len(data) > limit:
        raise ApiError(413, f"upload too large: {len(data)} bytes, the limit is {limit} for "
                            f"{'a video' if suffix else 'an image'}")
    return Upload(data, name, suffix)


@contextmanager
def private_file(data: bytes, suffix: str) -> Iterator[Path]:
    """``data`` in a new temporary file only this user can read (mkstemp: mode 0600), deleted on exit."""
    fd, name = tempfile.mkstemp(prefix="eyegrad-upload-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        yield Path(name)
    finally:
        os.unlink(name)


def detect_json(detector: Detector, upload: Upload, explain: bool) -> dict:
    """The detect result (docs/api.md) of one upload, an image or a video."""
    if upload.video_suffix is None:
        return image_json(detector, upload.data, upload.name, explain)
    with private_file(upload.data, upload.video_suffix) as path:
        return video_json(detector, path, upload.name, explain)


def image_json(detector: Detector, data: bytes, name: Optional[str], explain: bool) -> dict:
    """The detect result of an image; with ``explain``, base64 PNGs per face."""
    result = detector.detect(data, path=name)
    out = result.to_dict()
    if explain:
        for face, expl in zip(out["faces"], explain_result(detector.model, data, result)):
            face["explain"] = {k: png_base64(v) for k, v in explanation_pngs(expl).items()}
            face["occlusion_range"] = [round(float(expl.occlusion.min()), 6), round(float(expl.occlusion.max()), 6)]
    return out


def video_json(detector: Detector, path: Path, name: Optional[str], explain: bool) -> dict:
    """The detect result of a video uploaded to ``path``; with ``explain``, its ``key_frames``."""
    result = detector.detect_video(path)
    # the result names the temporary file: the client knows the video by its upload name, if any
    out = {**result.to_dict(), "path": name}
    if out["error"]:
        out["error"] = out["error"].replace(str(path), name or "the uploaded video")
    if explain and result.video is not None:
        out["key_frames"] = key_frames_json(path, result.video, detector.video.time_limit_s / 2)
    return out


def key_frames(video: VideoSummary, n: int = KEY_FRAMES) -> List[Tuple[TimelinePoint, TrackScore]]:
    """The ``n`` sampled frames where the deciding track (the most-fake steady one, as in the
    verdict) was most fake, with its face there, in time order; none for a video with no steady track."""
    if not video.deciding_tracks:
        return []
    deciding = video.deciding_tracks[0].id
    seen = [(point, face) for point in video.timeline for face in point.faces if face.track == deciding]
    most_fake = sorted(seen, key=lambda pf: -pf[1].p_fake)[:n]
    return sorted(most_fake, key=lambda pf: pf[0].frame)


def key_frames_json(path: Path, video: VideoSummary, time_limit_s: float) -> List[dict]:
    """The key frames of a video result: frame index, time, the face's p_fake and its crop as a base64 PNG.

    The frames are read again from the file, for at most ``time_limit_s``; one that no longer decodes,
    or all of them when reading takes longer, are left out (they illustrate the verdict, they do not make it).
    """
    chosen = key_frames(video)
    try:
        frames = read_frames(path, [point.frame for point, _ in chosen], time_limit_s)
    except InputError:
        frames = {}
    return [{"frame": point.frame, "t": round(point.time_s, 3), "p_fake": round(face.p_fake, 6),
             "image": png_base64(png_bytes(face_crop(frames[point.frame], face.box), scale=1))}
            for point, face in chosen if point.frame in frames]


def face_crop(frame: np.ndarray, box: Box) -> np.ndarray:
    """The face ``box`` of ``frame`` with a margin of ``KEY_FRAME_MARGIN``, shrunk to fit ``KEY_FRAME_SIZE``."""
    x, y, w, h = box
    m = int(KEY_FRAME_MARGIN * max(w, h))
    crop = frame[max(0, y - m):y + h + m, max(0, x - m):x + w + m]
    scale = KEY_FRAME_SIZE / max(crop.shape[:2])
    return cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else crop


def png_base64(png: bytes) -> str:
    """PNG bytes as base64 text, for JSON."""
    return base64.b64encode(png).decode("ascii")


def model_info(pool: DetectorPool, max_bytes: int, max_video_bytes: int) -> dict:
    """What the page needs to know: the model's verdict rule, the accepted files and their limits."""
    meta = pool.model.metadata
    return {"model": pool.model.path.name, "feature_version": meta.feature_version,
            "threshold": pool.model.threshold, "uncertain_band": list(pool.model.uncertain_band),
            "video_band": list(pool.model.video_band),
            "labels": meta.labels, "max_upload_bytes": max_bytes, "max_video_upload_bytes": max_video_bytes,
            "accepted_types": [*ACCEPTED_TYPES, *VIDEO_TYPES], "video_suffixes": sorted(VIDEO_SUFFIXES),
            "workers": pool.size}


def create_app(model_path: Union[str, os.PathLike, None] = None, workers: int = DEFAULT_WORKERS,
               num_threads: Optional[int] = None, max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
               timeout_s: float = DEFAULT_TIMEOUT_S, max_video_upload_bytes: int = DEFAULT_MAX_VIDEO_UPLOAD) -> Flask:
    """The eyegrad web app with ``workers`` detectors (each with its own interpreter)."""
    app = Flask(__name__, static_folder=None)
    app.request_class = MemoryRequest
    too_large_message = (f"upload too large: the limit is {max_upload_bytes} bytes for an image, "
                 f"{max_video_upload_bytes} for a video")
    app.config.update(MAX_CONTENT_LENGTH=max(max_upload_bytes, max_video_upload_bytes) + MULTIPART_SLACK,
                      MAX_FORM_MEMORY_SIZE=MAX_FORM_FIELD_BYTES, EYEGRAD_WORKERS=workers,
                      EYEGRAD_TOO_LARGE=too_large_message, EYEGRAD_MEMORY_BODY=max_upload_bytes + MULTIPART_SLACK)
    video = VideoOptions(time_limit_s=VIDEO_TIME_SHARE * timeout_s)
    pool = DetectorPool(lambda: Detector(model_path, num_threads=num_threads, video=video), workers)
    app.extensions["eyegrad_pool"] = pool
    info = model_info(pool, max_upload_bytes, max_video_upload_bytes)
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
        return jsonify(openapi_spec(max_upload_bytes, max_video_upload_bytes))

    @app.post("/api/detect")
    def api_detect():
        upload = read_upload(request, max_upload_bytes, max_video_upload_bytes)
        explain = request.args.get("explain", "0").lower() in ("1", "true", "yes")
        # a video's temporary file lives inside the job, so an abandoned job (503) still removes it
        result = pool.run(lambda d: detect_json(d, upload, explain), timeout_s)
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
        if (request.content_length or 0) <= app.config["MAX_CONTENT_LENGTH"]:  # a form field, not the file
            return error_response(413, f"form field too large: a multipart field other than 'file' may hold at "
                                       f"most {MAX_FORM_FIELD_BYTES} bytes (name, headers and value)")
        return error_response(413, too_large_message)

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
