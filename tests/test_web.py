"""The web app through Flask's test client: page, JSON API, limits and errors, for images and
for short videos built from the example faces."""
from __future__ import annotations

import base64
import io
import stat
import tempfile
import threading
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, NamedTuple

import cv2
import numpy as np
import pytest

pytest.importorskip("flask", reason="the web extra (flask) is not installed")

from werkzeug.test import EnvironBuilder  # noqa: E402

from conftest import EXAMPLES, face_clip, write_one_key_frame_video, write_video  # noqa: E402
from eyegrad.runtime.boxes import EYE_ORIGINS  # noqa: E402
from eyegrad.runtime.explain import IMAGE_NAMES  # noqa: E402
from eyegrad.runtime.results import DetectResult  # noqa: E402
from eyegrad.runtime.schema import VIDEO_RESULT  # noqa: E402
from eyegrad.runtime.video import VideoInfo, VideoOptions, sample_indices  # noqa: E402
from eyegrad.runtime.web import create_app  # noqa: E402
from eyegrad.runtime.web.app import KEY_FRAME_SIZE, KEY_FRAMES, MemoryRequest, private_file, video_suffix  # noqa: E402
from eyegrad.runtime.web.openapi import KEY_FRAME  # noqa: E402

MAX_UPLOAD = 1024 * 1024
MAX_VIDEO_UPLOAD = 2 * MAX_UPLOAD
CONTRACT_KEYS = set(DetectResult.failed(None, "x").to_dict())
VIDEO_KEYS = CONTRACT_KEYS | {f.name for f in VIDEO_RESULT}
FACE_KEYS = {"box", "eyes", "eyes_from", "p_fake"}
REAL = EXAMPLES / "real_mesonet_00240.jpg"
FAKE = EXAMPLES / "fake_mesonet_df00204.jpg"


@pytest.fixture(scope="module")
def app():
    app = create_app(workers=2, max_upload_bytes=MAX_UPLOAD, max_video_upload_bytes=MAX_VIDEO_UPLOAD)
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
        assert face["eyes_from"] in EYE_ORIGINS
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


@pytest.mark.parametrize("ctype", ["text/plain", "application/pdf", "audio/mpeg", "video/ogg"])
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
    assert info["max_video_upload_bytes"] == MAX_VIDEO_UPLOAD
    assert {"image/jpeg", "video/mp4", "video/x-msvideo"} <= set(info["accepted_types"])
    assert ".mp4" in info["video_suffixes"]


def test_openapi(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/detect", "/healthz", "/api/info"} <= set(spec["paths"])
    detect = spec["paths"]["/api/detect"]["post"]
    assert {"200", "413", "415", "422"} <= set(detect["responses"])
    assert {"image/jpeg", "video/mp4", "video/*"} <= set(detect["requestBody"]["content"])
    schema = spec["components"]["schemas"]["DetectResult"]
    assert set(schema["required"]) == CONTRACT_KEYS
    assert VIDEO_KEYS | {"key_frames"} == set(schema["properties"])
    assert schema["properties"]["key_frames"]["items"]["required"] == [f.name for f in KEY_FRAME]


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


def test_every_detector_thread_runs_before_the_first_request(face_bytes):
    """Threads started under load would look like a leak to a server's monitoring (and did to the load test)."""
    def detector_threads() -> set:
        return {t.ident for t in threading.enumerate() if t.name.startswith("eyegrad-detect")}

    others = detector_threads()
    app = create_app(workers=3)
    try:
        started = detector_threads() - others
        assert len(started) == 3
        client = app.test_client()
        for _ in range(4):
            assert client.post("/api/detect", data=face_bytes, content_type="image/jpeg").status_code == 200
        assert detector_threads() - others == started
    finally:
        app.extensions["eyegrad_pool"].close()


# ---- videos ----


class Clip(NamedTuple):
    """A video file written by a test: its path, media type, frame count and rate."""

    path: Path
    ctype: str
    frames: int
    fps: float

    @property
    def sampled(self) -> int:
        """How many frames the detector samples from it."""
        return len(sample_indices(VideoInfo(self.frames, self.fps, 256, 256), VideoOptions()))

    def upload(self, client, query: str = ""):
        return upload(client, self.path.read_bytes(), self.path.name, self.ctype, query)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Dict[str, Clip]:
    """256x256 clips of an example face: 3 s at 10 fps (mp4v .mp4) and 2 s at 20 fps (MJPG .avi)."""
    folder = tmp_path_factory.mktemp("clips")

    def clip(name: str, image: Path, frames: int, fps: float, ctype: str) -> Clip:
        return Clip(write_video(folder / name, face_clip(image, frames), fps), ctype, frames, fps)

    return {"mp4": clip("real.mp4", REAL, 30, 10.0, "video/mp4"),
            "avi": clip("fake.avi", FAKE, 40, 20.0, "video/x-msvideo")}


@pytest.fixture()
def private_tmp(tmp_path, monkeypatch) -> Path:
    """The folder the app's temporary files go to, for this test."""
    folder = tmp_path / "private"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def assert_video_result(body: dict, clip: Clip) -> None:
    assert set(body) - {"key_frames"} == VIDEO_KEYS
    assert body["path"] == clip.path.name and body["error"] is None
    assert body["verdict"] in ("real", "fake", "uncertain")
    assert body["frames"] == len(body["timeline"]) == clip.sampled > 0
    times = [p["t"] for p in body["timeline"]]
    assert times == sorted(set(times))
    steady = [t for t in body["tracks"] if t["steady"]]
    assert body["p_fake"] == max(t["p_fake"] for t in steady) == body["faces"][0]["p_fake"]
    assert len(body["faces"]) == len(steady) and all(FACE_KEYS == set(f) for f in body["faces"])
    ids = {t["id"] for t in body["tracks"]}
    assert all(f["track"] in ids for p in body["timeline"] for f in p["faces"])


def wav_bytes() -> bytes:
    """One second of silence as a WAV file: a media file with no video stream."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(16000))
    return out.getvalue()


def zero_frame_avi(folder: Path) -> bytes:
    """An AVI whose writer was closed before any frame."""
    path = folder / "empty.avi"
    cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (256, 256)).release()
    return path.read_bytes()


def noise_avi(folder: Path, frames: int) -> Path:
    """Random 256x256 frames (no face; MJPG compresses them badly: about 50 KB each)."""
    rng = np.random.default_rng(0)
    return write_video(folder / "noise.avi", [rng.integers(0, 256, (256, 256, 3), np.uint8) for _ in range(frames)])


@pytest.mark.parametrize("kind", ["mp4", "avi"])
def test_video_upload(client, clips, private_tmp, kind):
    clip = clips[kind]
    resp = clip.upload(client)
    assert resp.status_code == 200
    body = resp.get_json()
    assert_video_result(body, clip)
    assert "key_frames" not in body
    assert list(private_tmp.iterdir()) == []  # the temporary file is gone


def test_video_by_generic_type_or_raw_body(client, clips):
    clip = clips["mp4"]
    data = clip.path.read_bytes()
    typed = clip.upload(client).get_json()
    generic = upload(client, data, clip.path.name, "application/octet-stream").get_json()
    raw = client.post("/api/detect", data=data, content_type="video/mp4", headers={"X-Filename": clip.path.name})
    unnamed = client.post("/api/detect", data=data, content_type="video/mp4").get_json()
    for body in (generic, raw.get_json(), unnamed):
        assert body["timeline"] == typed["timeline"] and body["p_fake"] == typed["p_fake"]
    assert raw.get_json()["path"] == clip.path.name and unnamed["path"] is None


def test_video_key_frames(client, clips):
    body = clips["mp4"].upload(client, "?explain=1").get_json()
    assert_video_result(body, clips["mp4"])
    deciding = max((t for t in body["tracks"] if t["steady"]), key=lambda t: t["p_fake"])["id"]
    scores = {p["frame"]: (p["t"], f["p_fake"]) for p in body["timeline"] for f in p["faces"] if f["track"] == deciding}
    keys = body["key_frames"]
    assert 1 <= len(keys) == min(KEY_FRAMES, len(scores))
    assert [k["frame"] for k in keys] == sorted(k["frame"] for k in keys)
    assert sorted(k["p_fake"] for k in keys) == sorted(p for _, p in scores.values())[-len(keys):]
    for k in keys:
        assert set(k) == {f.name for f in KEY_FRAME}
        assert (k["t"], k["p_fake"]) == scores[k["frame"]]
        image = cv2.imdecode(np.frombuffer(base64.b64decode(k["image"]), np.uint8), cv2.IMREAD_UNCHANGED)
        assert image.ndim == 3 and 0 < max(image.shape[:2]) <= KEY_FRAME_SIZE and image.std() > 10


def test_videos_have_their_own_size_limit(client, clips, tmp_path):
    noise = noise_avi(tmp_path, 30).read_bytes()
    assert MAX_UPLOAD < len(noise) < MAX_VIDEO_UPLOAD
    resp = upload(client, noise, "noise.avi", "video/x-msvideo")
    assert resp.status_code == 200 and set(resp.get_json()) == VIDEO_KEYS and resp.get_json()["frames"] > 0
    assert "for an image" in assert_json_error(upload(client, noise, "noise.jpg", "image/jpeg"), 413)
    big = clips["mp4"].path.read_bytes() + bytes(MAX_VIDEO_UPLOAD)
    assert "for a video" in assert_json_error(upload(client, big, "big.mp4", "video/mp4"), 413)
    assert "for a video" in assert_json_error(client.post("/api/detect", data=big, content_type="video/mp4"), 413)


def truncated_mp4(clips: Dict[str, Clip], folder: Path) -> bytes:
    """The first 30% of an mp4 clip: its index (the moov box, written last) is missing."""
    data = clips["mp4"].path.read_bytes()
    return data[: int(0.3 * len(data))]


#: Uploads named and typed as videos that are not usable ones: (name, media type, bytes from the clips and a folder).
BAD_VIDEOS = [
    ("truncated.mp4", "video/mp4", truncated_mp4),
    ("random_bytes.mp4", "video/mp4", lambda clips, folder: np.random.default_rng(1).bytes(5000)),
    ("audio_only.mp4", "video/mp4", lambda clips, folder: wav_bytes()),
    ("zero_frames.avi", "video/x-msvideo", lambda clips, folder: zero_frame_avi(folder)),
]


@pytest.mark.parametrize("name, ctype, make", BAD_VIDEOS, ids=[name for name, _, _ in BAD_VIDEOS])
def test_bad_videos_are_422_with_one_line(client, clips, private_tmp, tmp_path, name, ctype, make):
    resp = upload(client, make(clips, tmp_path), name, ctype, "?explain=1")
    assert resp.status_code == 422
    body = resp.get_json()
    assert set(body) == CONTRACT_KEYS and body["verdict"] == "error" and body["path"] == name
    error = body["error"]
    assert "\n" not in error and name in error
    assert str(private_tmp) not in error and "eyegrad-upload" not in error  # no server path
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("frames, claimed_s, size", [(20_000, 0.0, (640, 360)), (100_000, 66 * 3600.0, (1920, 1080))],
                         ids=["one-key-frame", "lying-length"])
def test_slow_video_stops_at_half_the_timeout(tmp_path, private_tmp, frames, claimed_s, size):
    """A video with one key frame makes every seek decode from its first frame (the 60 seeks here:
    at least a million frame decodes); a header that claims 66 hours sends the first seek past the
    end, so that one call into the decoder decodes all 100,000 full-HD frames. Both are slow by
    construction on any machine. With a 4 s timeout reading stops after 2 s, the answer is the
    clip's own error result (not the pool's 503), the worker is free again and no temporary file
    is left."""
    clip = write_one_key_frame_video(tmp_path / "long.mkv", frames, claimed_s, size)
    app = create_app(workers=1, timeout_s=4.0)
    try:
        client = app.test_client()
        started = time.monotonic()
        resp = upload(client, clip.read_bytes(), clip.name, "video/x-matroska")
        assert resp.status_code == 422, resp.get_json()
        error = resp.get_json()["error"]
        assert "took longer than 2 s" in error and "long.mkv" in error
        assert time.monotonic() - started < 4.0
        assert client.get("/healthz").get_json()["idle_workers"] == 1
        assert list(private_tmp.iterdir()) == []
    finally:
        app.extensions["eyegrad_pool"].close()


def test_private_file(private_tmp):
    with private_file(b"video bytes", ".webm") as path:
        assert path.parent == private_tmp and path.suffix == ".webm" and path.read_bytes() == b"video bytes"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.exists()
    with pytest.raises(RuntimeError), private_file(b"x", ".mp4") as path:
        raise RuntimeError("detection failed")
    assert not path.exists()


@pytest.mark.parametrize("ctype, name, suffix", [
    ("video/mp4", "clip.mp4", ".mp4"), ("video/quicktime", None, ".mov"), ("video/mp4", "clip.MKV", ".mkv"),
    ("application/octet-stream", "clip.webm", ".webm"), ("", "clip.mp4", ".mp4"), ("video/vnd.avi", "a.avi", ".avi"),
    ("image/jpeg", "photo.mp4", None), ("application/octet-stream", "photo.jpg", None), ("", None, None),
    ("video/ogg", "clip.ogv", None),
])
def test_video_suffix(ctype, name, suffix):
    assert video_suffix(ctype, name) == suffix
