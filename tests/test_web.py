"""The web app through Flask's test client: page, JSON API, limits and errors."""
from __future__ import annotations

import base64
import io
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

pytest.importorskip("flask", reason="the web extra (flask) is not installed")

from werkzeug.test import EnvironBuilder  # noqa: E402

from eyegrad.runtime.explain import IMAGE_NAMES  # noqa: E402
from eyegrad.runtime.results import DetectResult  # noqa: E402
from eyegrad.runtime.web import create_app  # noqa: E402
from eyegrad.runtime.web.app import MemoryRequest  # noqa: E402

MAX_UPLOAD = 1024 * 1024
CONTRACT_KEYS = set(DetectResult.failed(None, "x").to_dict())
FACE_KEYS = {"box", "eyes", "eyes_from", "p_fake"}


@pytest.fixture(scope="module")
def app():
    app = create_app(workers=2, max_upload_bytes=MAX_UPLOAD)
    yield app
    app.extensions["eyegrad_pool"].close()


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def face_bytes(sample_images) -> bytes:
    return next(p for p in sample_images if p.name == "real_mesonet_00240.jpg").read_bytes()


def no_face_png() -> bytes:
    """A smooth gradient: a valid image with nothing like a face in it."""
    y, x = np.mgrid[0:240, 0:320]
    return cv2.imencode(".png", ((x + y) * 255 // (320 + 240)).astype(np.uint8))[1].tobytes()


def upload(client, data: bytes, name: str = "photo.jpg", ctype: str = "image/jpeg", query: str = ""):
    return client.post(f"/api/detect{query}", data={"file": (io.BytesIO(data), name, ctype)},
                       content_type="multipart/form-data")


def assert_json_error(resp, status: int) -> str:
    assert resp.status_code == status
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["status"] == status and isinstance(body["error"], str) and body["error"]
    assert "\n" not in body["error"]
    return body["error"]


def assert_contract(body: dict) -> None:
    assert set(body) == CONTRACT_KEYS
    assert body["verdict"] in ("real", "fake", "uncertain", "no_face", "error")
    for face in body["faces"]:
        assert FACE_KEYS <= set(face)
        assert len(face["box"]) == 4 and len(face["eyes"]) == 2
        assert face["eyes_from"] in ("cascade", "geometry")
        assert 0.0 <= face["p_fake"] <= 1.0
    if body["faces"]:
        assert body["p_fake"] == max(f["p_fake"] for f in body["faces"])
    assert all(v >= 0 for v in body["timing_ms"].values())


def test_page_and_its_files(client):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'id="result"' in html and 'type="file"' in html
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/app.js").mimetype == "text/javascript"
    assert client.get("/app.css").mimetype == "text/css"


def test_face_image(client, face_bytes):
    resp = upload(client, face_bytes, name="real_mesonet_00240.jpg")
    assert resp.status_code == 200
    body = resp.get_json()
    assert_contract(body)
    assert body["verdict"] in ("real", "fake", "uncertain")
    assert body["path"] == "real_mesonet_00240.jpg"
    assert body["faces"] and body["error"] is None


def test_raw_body_gives_the_same_result(client, face_bytes):
    multipart = upload(client, face_bytes).get_json()
    raw = client.post("/api/detect", data=face_bytes, content_type="image/jpeg").get_json()
    assert_contract(raw)
    assert raw["faces"] == multipart["faces"] and raw["p_fake"] == multipart["p_fake"]


def test_explain_adds_pngs(client, face_bytes, app):
    body = upload(client, face_bytes, query="?explain=1").get_json()
    geometry = app.extensions["eyegrad_pool"].model.geometry
    for face in body["faces"]:
        assert set(face["explain"]) == set(IMAGE_NAMES)
        images = {k: cv2.imdecode(np.frombuffer(base64.b64decode(v), np.uint8), cv2.IMREAD_UNCHANGED)
                  for k, v in face["explain"].items()}
        band_h, band_w = images["band"].shape[:2]
        assert band_w * geometry.height == band_h * geometry.width
        assert images["eye_left"].shape[1] + images["eye_right"].shape[1] == band_w
        assert images["gradient_left"].shape == images["eye_left"].shape
        assert images["occlusion"].shape == (band_h, band_w, 3)
        lo, hi = face["occlusion_range"]
        assert -1.0 <= lo <= hi <= 1.0


def test_no_face_image(client):
    body = upload(client, no_face_png(), name="gradient.png", ctype="image/png", query="?explain=1").get_json()
    assert_contract(body)
    assert body["verdict"] == "no_face" and body["p_fake"] is None and body["faces"] == []


@pytest.mark.parametrize("make", [lambda b: b[: len(b) // 2], lambda b: bytes(range(256)) * 8,
                                  lambda b: b"\xff\xd8\xff" + b"\x00" * 500])
def test_corrupt_files_are_422_with_a_message(client, face_bytes, make):
    resp = upload(client, make(face_bytes), name="broken.jpg")
    assert resp.status_code == 422
    body = resp.get_json()
    assert_contract(body)
    assert body["verdict"] == "error" and body["error"] and "\n" not in body["error"]


def test_too_large_is_413(client):
    big = b"\xff\xd8" + b"\x00" * MAX_UPLOAD
    assert "too large" in assert_json_error(upload(client, big), 413)
    assert "too large" in assert_json_error(client.post("/api/detect", data=big, content_type="image/jpeg"), 413)
    huge = b"\x00" * (3 * MAX_UPLOAD)  # beyond the multipart slack: refused before parsing
    assert_json_error(upload(client, huge), 413)


@pytest.mark.parametrize("ctype", ["text/plain", "application/pdf", "video/mp4"])
def test_wrong_type_is_415(client, face_bytes, ctype):
    assert "unsupported media type" in assert_json_error(upload(client, face_bytes, "x.bin", ctype), 415)
    assert_json_error(client.post("/api/detect", data=face_bytes, content_type=ctype), 415)


def test_generic_type_lets_the_bytes_decide(client, face_bytes):
    assert upload(client, face_bytes, "photo", "application/octet-stream").status_code == 200


def test_missing_or_empty_upload_is_400(client):
    assert "'file'" in assert_json_error(client.post("/api/detect", data={"other": "x"},
                                                     content_type="multipart/form-data"), 400)
    assert "empty" in assert_json_error(upload(client, b""), 400)


def test_unknown_paths_and_methods_are_json(client):
    for path in ("/nope", "/../setup.cfg", "/app.js/../../setup.cfg", "/static/app.js", "/index.html"):
        assert_json_error(client.get(path), 404)
    assert_json_error(client.get("/api/detect"), 405)
    assert_json_error(client.delete("/"), 405)


def test_healthz(client, app):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["workers"] == 2 and 0 <= body["idle_workers"] <= 2


def test_info(client):
    info = client.get("/api/info").get_json()
    lo, hi = info["uncertain_band"]
    assert 0 <= lo <= hi <= 1 and info["max_upload_bytes"] == MAX_UPLOAD
    assert "image/jpeg" in info["accepted_types"]


def test_openapi(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/detect", "/healthz", "/api/info"} <= set(spec["paths"])
    detect = spec["paths"]["/api/detect"]["post"]
    assert {"200", "413", "415", "422"} <= set(detect["responses"])
    schema = spec["components"]["schemas"]["DetectResult"]
    assert set(schema["required"]) == CONTRACT_KEYS


def test_concurrent_requests_agree(client, app, face_bytes):
    def one(_):
        return app.test_client().post("/api/detect", data=face_bytes, content_type="image/jpeg").get_json()

    with ThreadPoolExecutor(6) as ex:
        results = list(ex.map(one, range(12)))
    assert all(r["faces"] == results[0]["faces"] and r["p_fake"] == results[0]["p_fake"] for r in results)


def test_uploads_stay_in_memory():
    """Werkzeug spools uploads over 500 KB to a temporary file; MemoryRequest must not."""
    env = EnvironBuilder(method="POST", data={"file": (io.BytesIO(b"\x00" * 2_000_000), "big.jpg")}).get_environ()
    stream = MemoryRequest(env).files["file"].stream
    assert isinstance(stream, io.BytesIO) and len(stream.getvalue()) == 2_000_000


def test_timeout_is_503_and_the_worker_comes_back(face_bytes):
    app = create_app(workers=1, timeout_s=1e-6)
    try:
        client = app.test_client()
        resp = client.post("/api/detect", data=face_bytes, content_type="image/jpeg")
        assert "did not finish" in assert_json_error(resp, 503)
        assert resp.headers["Retry-After"]
        pool = app.extensions["eyegrad_pool"]
        for _ in range(600):  # the abandoned job finishes in the background and frees its detector
            if pool.idle == 1:
                break
            time.sleep(0.05)
        assert client.get("/healthz").get_json()["idle_workers"] == 1
    finally:
        app.extensions["eyegrad_pool"].close()
