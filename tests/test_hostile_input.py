"""Hostile input (issue 31): slow clients, unfinished uploads, memory-hungry images, FIFOs and
devices in a scan, waitress's own errors, odd form fields and file names, unwritable outputs.

Every file is made here; the server runs on a loopback port in this process.
"""
from __future__ import annotations

import http.client
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, List, Tuple

import cv2
import numpy as np
import pytest
from PIL import Image

pytest.importorskip("flask", reason="the web extra (flask) is not installed")

from eyegrad.benchmarks.decode_memory import peak_mb  # noqa: E402
from eyegrad.cli import main  # noqa: E402
from eyegrad.runtime import Detector  # noqa: E402
from eyegrad.runtime.web import create_app  # noqa: E402
from eyegrad.runtime.web.guard import Limits  # noqa: E402
from eyegrad.runtime.web.media import ACCEPTED_TYPES  # noqa: E402
from eyegrad.runtime.web.server import BackgroundServer  # noqa: E402

MAX_UPLOAD = 256 * 1024
MAX_VIDEO_UPLOAD = 4 * 1024 * 1024
EXAMPLE = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.jpg"))[0]


@pytest.fixture(scope="module")
def app():
    app = create_app(workers=1, max_upload_bytes=MAX_UPLOAD, max_video_upload_bytes=MAX_VIDEO_UPLOAD)
    yield app
    app.extensions["eyegrad_pool"].close()


@pytest.fixture(scope="module")
def server(app) -> Iterator[BackgroundServer]:
    with BackgroundServer(app) as srv:
        yield srv


@pytest.fixture(scope="module")
def png16() -> bytes:
    """A 16-bit 8000x8000 PNG: about 130 KB of file, 64 megapixels."""
    return cv2.imencode(".png", np.zeros((8000, 8000), np.uint16))[1].tobytes()


def connect(srv: BackgroundServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.server.effective_port), timeout=10)


def raw_answer(sock: socket.socket) -> Tuple[int, dict, dict]:
    """(status, headers, JSON body) of one answer read until the server closes."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), headers, json.loads(body)


def assert_json_error(status: int, headers: dict, body: dict, expected: int) -> str:
    assert status == expected and headers["Content-Type"] == "application/json"
    assert body["status"] == expected and body["error"] and "\n" not in body["error"]
    return body["error"]


def closed_within(sock: socket.socket, seconds: float, trickle: bytes) -> bool:
    """Send ``trickle`` a byte every 0.2 s; whether the server closed the connection within ``seconds``."""
    sock.settimeout(0.2)
    end = time.monotonic() + seconds
    for byte in (trickle * 1000)[: int(seconds / 0.2)]:
        try:
            sock.send(bytes([byte]))
            if sock.recv(4096) == b"":
                return True
        except socket.timeout:
            continue
        except OSError:
            return True
        if time.monotonic() > end:
            break
    return False


def healthz(srv: BackgroundServer, timeout: float) -> Tuple[int, float]:
    """(status, seconds) of one GET /healthz on a new connection."""
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", srv.server.effective_port, timeout=timeout)
    try:
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        assert json.loads(resp.read())["status"] == "ok"
        return resp.status, time.monotonic() - t0
    finally:
        conn.close()


# ---- slow clients (issue item 2) ----


def test_slow_headers_and_bodies_are_cut_at_their_deadlines(app):
    with BackgroundServer(app, limits=Limits(header_timeout_s=1, body_timeout_s=1)) as srv:
        headers = connect(srv)
        headers.sendall(b"GET /healthz HTTP/1.1\r\n")
        assert closed_within(headers, 10, b"X-Slow: 1\r\n"), "a byte a second must not keep headers coming forever"
        body = connect(srv)
        body.sendall(b"POST /api/detect HTTP/1.1\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n")
        assert closed_within(body, 10, b"\xff"), "a byte a second must not keep a body coming forever"


def test_healthz_answers_with_110_slow_clients(server):
    clients: List[socket.socket] = []
    for _ in range(110):
        try:
            sock = connect(server)
            sock.sendall(b"POST /api/detect HTTP/1.1\r\n")
            clients.append(sock)
        except OSError:
            pass  # refused or reset: fine, the point is /healthz
    stop = threading.Event()

    def trickle() -> None:  # every client sends a byte a second
        while not stop.wait(1.0):
            for sock in clients:
                try:
                    sock.send(b"X")
                except OSError:
                    pass

    thread = threading.Thread(target=trickle)
    thread.start()
    try:
        for _ in range(3):
            status, seconds = healthz(server, timeout=10)
            assert status == 200 and seconds < 2.0, seconds
            time.sleep(0.5)
    finally:
        stop.set()
        thread.join()
        for sock in clients:
            sock.close()


# ---- /healthz behind queued uploads (item 6) ----


def test_healthz_does_not_wait_behind_queued_uploads(app, png16):
    results: List[int] = []

    def post(srv: BackgroundServer) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", srv.server.effective_port, timeout=120)
        conn.request("POST", "/api/detect", body=png16, headers={"Content-Type": "image/png"})
        results.append(conn.getresponse().status)
        conn.close()

    with BackgroundServer(app, threads=1) as srv:  # one request thread: the uploads queue behind it
        uploads = [threading.Thread(target=post, args=(srv,)) for _ in range(4)]
        for t in uploads:
            t.start()
        time.sleep(0.3)  # the uploads are sent and queued
        status, seconds = healthz(srv, timeout=30)
        pending = 4 - len(results)
        for t in uploads:
            t.join()
    assert status == 200 and seconds < 2.0, seconds
    assert pending >= 1, "the uploads finished before /healthz was asked: the test proves nothing"
    assert results == [200] * 4


# ---- memory of one decode (item 4) ----

def test_a_16_bit_8000_square_png_costs_under_500_mb(tmp_path, png16):
    path = tmp_path / "deep.png"
    path.write_bytes(png16)
    verdict, extra_mb = peak_mb(path)
    assert verdict == "no_face" and extra_mb < 500, extra_mb


def test_a_very_long_image_is_refused():
    buf = io.BytesIO()
    Image.new("L", (40_000, 1)).save(buf, "PNG")
    result = Detector().detect(buf.getvalue())
    assert result.verdict == "error" and "too long" in result.error


# ---- unfinished uploads (item 5) ----


def test_a_body_over_the_limit_is_refused_by_its_content_length(server):
    sock = connect(server)
    sock.sendall(f"POST /api/detect HTTP/1.1\r\nContent-Type: video/mp4\r\n"
                 f"Content-Length: {60 * 1024 * 1024}\r\n\r\n".encode() + b"\x00" * 1024)
    msg = assert_json_error(*raw_answer(sock), 413)
    assert f"{MAX_VIDEO_UPLOAD} for a video" in msg


def anonymous_files() -> int:
    """Open files of this process that have no name (waitress's spooled bodies)."""
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            count += "(deleted)" in os.readlink(fd)
        except OSError:
            pass
    return count


def rss_mb() -> float:
    return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024


def test_unfinished_video_uploads_are_not_held_in_memory(server):
    n, sent = 12, 3 * 1024 * 1024
    files, rss = anonymous_files(), rss_mb()
    clients = []
    for _ in range(n):
        sock = connect(server)
        sock.sendall(f"POST /api/detect HTTP/1.1\r\nContent-Type: video/mp4\r\n"
                     f"Content-Length: {MAX_VIDEO_UPLOAD}\r\n\r\n".encode() + os.urandom(sent))
        clients.append(sock)
    try:
        for _ in range(100):  # until the server has read what was sent
            if anonymous_files() - files >= n:
                break
            time.sleep(0.1)
        assert anonymous_files() - files >= n, "large bodies must be spooled to (anonymous) files"
        assert rss_mb() - rss < n * sent / 2**20 / 2
    finally:
        for sock in clients:
            sock.close()


# ---- every error is JSON; the OpenAPI description; form fields and file names (item 7) ----


@pytest.mark.parametrize("request_head, status", [
    (b"POST /api/detect HTTP/1.1\r\nContent-Length: abc\r\n\r\n", 400),
    (b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 262_144 + b"\r\n\r\n", 431),  # just over the limit
    (b"POST /api/detect HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
])
def test_errors_waitress_answers_are_json(server, request_head, status):
    sock = connect(server)
    sock.sendall(request_head)
    code, headers, body = raw_answer(sock)
    assert_json_error(code, headers, body, status)
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_openapi_lists_500_and_the_image_types_accepted(app):
    client = app.test_client()
    detect = client.get("/openapi.json").get_json()["paths"]["/api/detect"]["post"]
    assert "500" in detect["responses"]
    content = detect["requestBody"]["content"]
    assert "image/*" not in content and set(ACCEPTED_TYPES) <= set(content)
    for ctype in ("image/svg+xml", "image/heic"):
        assert ctype not in content
        resp = client.post("/api/detect", data=b"<svg/>", content_type=ctype)
        assert resp.status_code == 415


def test_a_huge_form_field_is_not_called_a_too_large_upload(app):
    resp = app.test_client().post("/api/detect", data={"x" * (1 << 20): "1", "file": (io.BytesIO(b"\xff\xd8"), "a.jpg")},
                                  content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 413 and "form field" in body["error"] and "for an image" not in body["error"]


def test_control_characters_in_file_names_are_not_echoed(app):
    client = app.test_client()
    data = EXAMPLE.read_bytes()
    multipart = client.post("/api/detect", data={"file": (io.BytesIO(data), "a\x00b\x7fc.jpg", "image/jpeg")},
                            content_type="multipart/form-data").get_json()
    raw = client.post("/api/detect", data=data, content_type="image/jpeg",
                      headers={"X-Filename": "x\x00y\x1b.jpg"}).get_json()
    assert (multipart["path"], raw["path"]) == ("abc.jpg", "xy.jpg")


# ---- scan over FIFOs and devices (item 3) ----


def test_scan_over_fifos_and_devices_finishes_with_error_records(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "clip.mp4")
    os.mkfifo(folder / "photo.jpg")
    (folder / "zero.mp4").symlink_to("/dev/zero")
    (folder / "zero.jpg").symlink_to("/dev/zero")
    (folder / "real.jpg").write_bytes(EXAMPLE.read_bytes())
    paths = tmp_path / "paths.txt"
    paths.write_text("in/clip.mp4\nin/zero.jpg\nin/real.jpg\n")
    for source, n in ((str(folder / "*"), 5), (str(paths), 3)):
        out = tmp_path / f"out{n}.jsonl"
        cmd = [sys.executable, "-m", "eyegrad", "scan", source, "--out", str(out), "--workers", "1"]
        assert subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0
        records = {Path(r["path"]).name: r for r in map(json.loads, out.read_text().splitlines())}
        assert len(records) == n and records["real.jpg"]["verdict"] != "error"
        bad = [r for name, r in records.items() if name != "real.jpg"]
        assert all(r["verdict"] == "error" and r["sha256"] is None and "file" in r["error"] for r in bad)


# ---- outputs that cannot be written (item 7) ----


def test_outputs_that_cannot_be_written_are_one_line_and_exit_2(tmp_path, capsys):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    commands = (["scan", str(EXAMPLE), "--out", str(not_a_folder / "out.jsonl"), "--workers", "1"],
                ["detect", str(EXAMPLE), "--explain", str(not_a_folder / "explain")])
    for argv in commands:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("eyegrad: error:") and str(not_a_folder) in err[-1]
        assert not any("Traceback" in line for line in err)
