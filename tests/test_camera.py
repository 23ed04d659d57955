"""`eyegrad camera`: sources, tracking and smoothing, the loop, faults and the CLI.

Videos are made here from the sample faces with cv2.VideoWriter (MJPG .avi); the Raspberry
Pi camera is replaced by a stand-in ``picamera2`` module that serves YUV420 buffers.
"""
from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import types
from pathlib import Path
from typing import List, Optional

import cv2
import numpy as np
import pytest

from eyegrad.runtime.boxes import EYE_ORIGINS, Box
from eyegrad.runtime.camera import CameraLoop, LoopOptions, Tracker, open_source
from eyegrad.runtime.camera.sources import CaptureSource, FolderSource, PiCameraSource, VideoFileSource
from eyegrad.cli import main
from eyegrad.runtime.errors import InputError
from eyegrad.runtime.results import verdict_for

DESIGN_KEYS = {"path", "verdict", "p_fake", "faces", "timing_ms", "error"}
CAMERA_KEYS = DESIGN_KEYS | {"frame", "tracks", "detected", "fps", "smoothed"}
FRAME_W, FRAME_H = 640, 360


# -- helpers ---------------------------------------------------------------
def scene(face_path: Path, x: int, shape=(FRAME_H, FRAME_W)) -> np.ndarray:
    """A BGR frame: a grey room with one sample face, 200 px, whose left edge is at ``x``."""
    frame = np.full((*shape, 3), 90, np.uint8)
    face = cv2.resize(cv2.imread(str(face_path)), (200, 200))
    top = (shape[0] - 200) // 2
    frame[top: top + 200, x: x + 200] = face
    return frame


def write_video(path: Path, frames: List[np.ndarray]) -> Path:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def corrupt_jpeg_frame(path: Path, k: int) -> None:
    """Wipe the start of the k-th JPEG in an MJPG file, so that frame no longer decodes."""
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 2) if data[i: i + 3] == b"\xff\xd8\xff"]
    data[starts[k]: starts[k] + 400] = bytes(400)
    path.write_bytes(bytes(data))


def run_loop(source, detector, **options):
    """Run the loop with JSON output captured; returns (records, summary, status text)."""
    out, status = io.StringIO(), io.StringIO()
    summary = CameraLoop(source, detector, LoopOptions(json=True, **options), out, status).run()
    return [json.loads(line) for line in out.getvalue().splitlines()], summary, status.getvalue()


def assert_record(rec: dict, band) -> None:
    """A frame record follows docs/api.md's detect contract plus the camera fields."""
    assert set(rec) == CAMERA_KEYS
    assert rec["verdict"] in ("real", "fake", "uncertain", "no_face", "error")
    assert len(rec["tracks"]) == len(rec["faces"]) == len(rec["smoothed"]["faces"])
    assert rec["fps"] >= 0
    if rec["faces"]:
        assert rec["p_fake"] == max(f["p_fake"] for f in rec["faces"])
        assert 0.0 <= rec["p_fake"] <= 1.0 and rec["error"] is None
        assert rec["verdict"] == verdict_for(rec["p_fake"], band)
        sp = rec["smoothed"]["p_fake"]
        assert sp == max(rec["smoothed"]["faces"]) and 0.0 <= sp <= 1.0
        assert rec["smoothed"]["verdict"] == verdict_for(sp, band)
        assert set(rec["timing_ms"]) == {"decode", "detect", "features", "infer", "total"}
        for f in rec["faces"]:
            assert len(f["box"]) == 4 and len(f["eyes"]) == 2 and f["eyes_from"] in EYE_ORIGINS
    elif rec["verdict"] == "error":
        assert rec["error"] and rec["p_fake"] is None and rec["smoothed"]["verdict"] == "error"
    else:
        assert rec["verdict"] == rec["smoothed"]["verdict"] == "no_face" and rec["p_fake"] is None


@pytest.fixture(scope="module")
def faces(sample_images) -> List[Path]:
    return sample_images


@pytest.fixture
def flawed_video(tmp_path, faces) -> Path:
    """10 frames: face A moving on the left (0-3), a black frame (4), a corrupt JPEG (5), face B on the right (6-9)."""
    frames = [scene(faces[0], 40 + 4 * i) for i in range(4)]
    frames += [np.zeros((FRAME_H, FRAME_W, 3), np.uint8), scene(faces[0], 52)]
    frames += [scene(faces[2], 400 - 4 * i) for i in range(4)]
    path = write_video(tmp_path / "flawed.avi", frames)
    corrupt_jpeg_frame(path, 5)
    return path


# -- the loop on a video file ------------------------------------------------
def test_video_with_empty_and_corrupt_frames(flawed_video, detector):
    recs, summary, _ = run_loop(open_source(str(flawed_video)), detector, detect_every=1)
    assert [r["frame"] for r in recs] == list(range(10))
    for r in recs:
        assert_record(r, detector.model.uncertain_band)
    assert recs[4]["verdict"] == "no_face" and recs[4]["faces"] == []  # the black frame
    assert recs[5]["verdict"] == "error" and "decode" in recs[5]["error"]  # the corrupt frame
    assert all(r["faces"] for r in recs[:4] + recs[6:])
    first, second = {r["tracks"][0] for r in recs[:4]}, {r["tracks"][0] for r in recs[6:]}
    assert len(first) == 1 and len(second) == 1 and first != second  # one track per face, kept while it moves
    assert all(r["detected"] for i, r in enumerate(recs) if i != 5)
    assert (summary.frames, summary.bad, summary.with_faces, summary.stop_reason) == (10, 1, 8, "end of stream")
    assert len(summary.track_verdicts) == 2


def test_detect_every_reuses_faces_in_between(flawed_video, detector):
    recs, summary, _ = run_loop(VideoFileSource(flawed_video), detector, detect_every=3)
    assert [r["detected"] for r in recs] == [True, False, False, True, False, False, True, False, False, True]
    assert summary.detections == 4
    for i, r in enumerate(recs):
        if r["detected"] or r["error"]:
            continue
        last = max(j for j in range(i) if recs[j]["detected"])
        assert [f["box"] for f in r["faces"]] == [f["box"] for f in recs[last]["faces"]]
        assert r["timing_ms"]["detect"] == 0.0 and r["tracks"] == recs[last]["tracks"]
    assert recs[4]["faces"]  # the black frame is scored at the reused boxes: the price of skipping searches


def test_max_frames_duration_and_save_dir(flawed_video, detector, tmp_path):
    recs, summary, _ = run_loop(open_source(str(flawed_video)), detector, max_frames=3)
    assert len(recs) == 3 and summary.stop_reason == "max frames"
    recs, summary, _ = run_loop(open_source(str(flawed_video)), detector, duration=1e-6)
    assert len(recs) == 1 and summary.stop_reason == "duration"

    save = tmp_path / "saved"
    recs, summary, _ = run_loop(open_source(str(flawed_video)), detector, save_dir=save, save_interval=0)
    judged = [r for r in recs if r["smoothed"]["verdict"] in ("fake", "uncertain")]
    saved = sorted(save.glob("*.jpg"))
    assert summary.saved == len(saved) == len(judged)
    assert [p.name for p in saved] == [f"frame{r['frame']:06d}_{r['smoothed']['verdict']}.jpg" for r in judged]
    for p in saved:
        img = cv2.imread(str(p))
        assert img.shape == (FRAME_H, FRAME_W, 3) and not np.array_equal(img[..., 0], img[..., 2])  # boxes in colour


def test_a_video_file_is_never_retried(tmp_path, faces, detector, capsys):
    """A file is read by the runtime's video reader: one that is no video, or of which no frame
    decodes, ends the run with a one-line error (exit 2) and no reconnect, whatever --retries says."""
    not_a_video = tmp_path / "notes.avi"
    not_a_video.write_text("not a video\n" * 100)
    assert main(["camera", "--source", str(not_a_video), "--retries", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("eyegrad: error: not a readable video") and not any("retry" in line for line in err)

    broken = write_video(tmp_path / "broken.avi", [scene(faces[0], 40 + 4 * i) for i in range(3)])
    for _ in range(3):  # each wipe takes away the first JPEG that is left
        corrupt_jpeg_frame(broken, 0)
    with pytest.raises(InputError, match="no frame of the video decodes"):
        run_loop(VideoFileSource(broken), detector, retries=3)


def test_folder_of_images_as_a_sequence(tmp_path, faces, detector):
    for p in faces:
        (tmp_path / p.name).write_bytes(p.read_bytes())
    (tmp_path / "zz_broken.jpg").write_bytes(b"not a jpeg at all")
    recs, summary, _ = run_loop(FolderSource(tmp_path), detector, detect_every=3)
    assert [Path(r["path"]).name for r in recs] == sorted(p.name for p in faces) + ["zz_broken.jpg"]
    for r in recs:
        assert_record(r, detector.model.uncertain_band)
    assert recs[-1]["verdict"] == "error" and "\n" not in recs[-1]["error"]  # decode's one-line message
    # the sample images differ in size, so no boxes are reused across them
    assert all(r["detected"] for r in recs[:-1]) and summary.bad == 1


def test_live_stream_that_drops_is_reopened_or_given_up(tmp_path, faces, detector):
    """A "live" OpenCV capture of a 4-frame file: each end of the file is a dropped stream."""
    video = write_video(tmp_path / "clip.avi", [scene(faces[3], 60 + 4 * i) for i in range(4)])
    recs, summary, status = run_loop(CaptureSource(str(video)), detector, max_frames=10,
                                     retries=2, backoff=0)
    assert [r["frame"] for r in recs] == list(range(10)) and not any(r["error"] for r in recs)
    assert (summary.retries, summary.reconnects, summary.lost) == (2, 2, None)
    assert status.count("(disconnected?); retry 1/2") == 2  # the count starts again after each recovery

    recs, summary, status = run_loop(CaptureSource(str(video)), detector, retries=0)
    assert len(recs) == 4 and summary.stop_reason == "source lost"
    assert summary.lost == f"no frame from {video} (disconnected?); gave up after 0 retries"


# -- tracking and smoothing on known sequences -------------------------------------
def test_tracks_follow_overlapping_boxes_and_keep_order():
    t = Tracker(window=3, max_missed=2)
    a = [t.update([Box(100 + 5 * i, 50, 80, 80)], [0.5])[0].id for i in range(4)]
    assert a == [1, 1, 1, 1]
    far, near = t.update([Box(400, 50, 80, 80), Box(118, 52, 80, 80)], [0.2, 0.3])
    assert (near.id, far.id) == (1, 2)  # returned in the order of the boxes
    # two boxes over one track: the better overlap keeps it, the other starts a track
    kept, new = t.update([Box(120, 50, 80, 80), Box(150, 50, 80, 80)], [0.5, 0.5])
    assert (kept.id, new.id) == (1, 3)


def test_tracks_survive_short_gaps_and_expire_after_long_ones():
    t = Tracker(window=3, max_missed=2)
    box = Box(10, 10, 50, 50)
    assert t.update([box], [0.5])[0].id == 1
    t.update([], [])
    t.update([], [])
    assert t.update([box], [0.5])[0].id == 1  # 2 missed frames: still the same face
    for _ in range(3):
        t.update([], [])
    assert t.update([box], [0.5])[0].id == 2 and t.started == 2  # 3 missed: a new track


def test_smoothing_averages_the_last_window_scores():
    t = Tracker(window=3)
    box = Box(0, 0, 40, 40)
    band = (0.3, 0.7)
    means, verdicts = [], []
    for p in [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]:
        track = t.update([box], [p])[0]
        means.append(round(track.p_fake, 4))
        verdicts.append(track.verdict(band))
    assert means == [1.0, 1.0, 1.0, 0.6667, 0.3333, 0.0]
    assert verdicts == ["fake", "fake", "fake", "uncertain", "uncertain", "real"]

    t = Tracker(window=5)
    out = [t.update([box], [p])[0].verdict((0.4, 0.6)) for p in [0.1, 0.1, 0.95, 0.1, 0.1]]
    assert out == ["real"] * 5  # one outlier frame does not flip the smoothed verdict


# -- the Raspberry Pi camera, through a stand-in picamera2 module ------------------------
class CameraRig:
    """What the stand-in picamera2 serves: frames, and when the camera fails or vanishes."""

    def __init__(self, frames: List[np.ndarray], fail_after: Optional[int] = None, comes_back: bool = True,
                 empty: tuple = ()):
        self.frames, self.fail_after, self.comes_back = frames, fail_after, comes_back
        self.empty = empty  # capture numbers whose buffers come back empty
        self.captured = self.released = self.opened = self.closed = 0
        self.configs: List[dict] = []

    def module(self) -> types.ModuleType:
        rig = self

        class Request:
            def __init__(self, frame: np.ndarray, streams: dict, empty: bool):
                self.frame, self.streams, self.empty = frame, streams, empty

            def make_buffer(self, name: str) -> np.ndarray:
                (w, h), stride = self.streams[name]
                if self.empty:
                    return np.zeros(0, np.uint8)
                yuv = cv2.cvtColor(cv2.resize(self.frame, (w, h)), cv2.COLOR_BGR2YUV_I420)
                y = np.zeros((h, stride), np.uint8)
                y[:, :w] = yuv[:h]
                return np.concatenate([y.ravel(), np.full(stride * h // 2, 128, np.uint8)])

            def release(self) -> None:
                rig.released += 1

        class Picamera2:
            @staticmethod
            def global_camera_info() -> list:
                gone = rig.fail_after is not None and rig.captured >= rig.fail_after and not rig.comes_back
                return [] if gone else [{"Model": "imx708", "Num": 0}]

            def __init__(self, camera_num: int = 0):
                rig.opened += 1
                self.streams: dict = {}

            def create_preview_configuration(self, main: dict, lores: dict) -> dict:
                return {"main": dict(main), "lores": dict(lores)}

            def configure(self, config: dict) -> None:
                rig.configs.append(config)
                for name, stream in config.items():
                    w, h = stream["size"]
                    self.streams[name] = ((w, h), (w + 63) // 64 * 64 + 64)  # padded rows, as on the ISP

            def stream_configuration(self, name: str) -> dict:
                size, stride = self.streams[name]
                return {"size": size, "stride": stride, "format": "YUV420"}

            def start(self) -> None:
                pass

            def capture_request(self) -> Request:
                if rig.fail_after is not None and rig.captured == rig.fail_after:
                    rig.fail_after = None if rig.comes_back else rig.fail_after
                    raise RuntimeError("Camera frontend has timed out!")
                frame = rig.frames[rig.captured % len(rig.frames)]
                rig.captured += 1
                return Request(frame, self.streams, rig.captured - 1 in rig.empty)

            def stop(self) -> None:
                pass

            def close(self) -> None:
                rig.closed += 1

        mod = types.ModuleType("picamera2")
        mod.Picamera2 = Picamera2
        return mod


@pytest.fixture
def pi_frames(faces) -> List[np.ndarray]:
    """4:3 frames with a face in the right half (its box only fits main-stream coordinates)."""
    return [scene(faces[1], 380 + 5 * i, shape=(480, 640)) for i in range(4)]


def test_picamera2_source_gives_y_planes_of_both_streams(monkeypatch, pi_frames):
    rig = CameraRig(pi_frames)
    monkeypatch.setitem(sys.modules, "picamera2", rig.module())
    src = PiCameraSource(0, (640, 480))
    src.open()
    frame = src.read()
    src.close()
    assert rig.configs[0]["main"] == {"size": (640, 480), "format": "YUV420"}
    assert rig.configs[0]["lores"] == {"size": (320, 240), "format": "YUV420"}
    assert frame.gray.shape == (480, 640) and frame.small.shape == (240, 320) and frame.error is None
    expected = cv2.cvtColor(pi_frames[0], cv2.COLOR_BGR2YUV_I420)[:480]
    assert np.array_equal(frame.gray, expected)  # the luma, with the stride padding cut off
    assert rig.captured == rig.released == 1 and rig.closed == 1


def test_picamera2_loop_searches_lores_and_crops_main(monkeypatch, pi_frames, detector):
    rig = CameraRig(pi_frames, empty=(2,))
    monkeypatch.setitem(sys.modules, "picamera2", rig.module())
    recs, summary, _ = run_loop(PiCameraSource(0, (640, 480)), detector, max_frames=7, detect_every=2)
    assert len(recs) == 7 and summary.stop_reason == "max frames"
    for r in recs:
        assert_record(r, detector.model.uncertain_band)
    empty = recs.pop(2)
    assert empty["verdict"] == "error" and "too small" in empty["error"] and summary.bad == 1
    for r in recs:
        assert r["path"] == "picamera2:0" and r["faces"]
        x, y, w, h = r["faces"][0]["box"]
        assert x + w > 320 and x + w <= 640 and y + h <= 480  # main-stream pixels, not lores
    assert len({r["tracks"][0] for r in recs}) == 1
    assert rig.captured == rig.released == 7


def test_picamera2_disconnect_mid_stream_recovers(monkeypatch, pi_frames, detector):
    rig = CameraRig(pi_frames, fail_after=3, comes_back=True)
    monkeypatch.setitem(sys.modules, "picamera2", rig.module())
    recs, summary, status = run_loop(PiCameraSource(0, (640, 480)), detector, max_frames=6, retries=3, backoff=0.01)
    assert [r["frame"] for r in recs] == list(range(6))
    assert summary.lost is None and summary.retries == 1 and summary.reconnects == 1
    assert "Camera frontend has timed out" in status and "retry 1/3" in status
    assert rig.opened == 2  # reopened once


def test_picamera2_disconnect_for_good_exits_3_with_a_message(monkeypatch, pi_frames, capsys):
    rig = CameraRig(pi_frames, fail_after=2, comes_back=False)
    monkeypatch.setitem(sys.modules, "picamera2", rig.module())
    code = main(["camera", "--source", "picamera2", "--size", "640x480", "--json", "--retries", "2",
                 "--backoff", "0.01"])
    out, err = capsys.readouterr()
    assert code == 3
    assert [json.loads(line)["frame"] for line in out.splitlines()] == [0, 1]
    assert "retry 1/2" in err and "retry 2/2" in err
    assert "eyegrad: error: camera unavailable: no camera 0 found" in err and "gave up after 2 retries" in err
    assert "Traceback" not in err


def test_picamera2_not_installed_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import picamera2 -> ImportError
    assert main(["camera", "--source", "picamera2"]) == 2
    assert "picamera2 is not installed" in capsys.readouterr().err


def test_picamera2_that_fails_to_import_is_a_clear_error(monkeypatch, capsys):
    broken = types.ModuleType("picamera2")

    def __getattr__(name):
        raise ValueError("numpy.dtype size changed, may indicate binary incompatibility")

    broken.__getattr__ = __getattr__
    monkeypatch.setitem(sys.modules, "picamera2", broken)
    assert main(["camera", "--source", "picamera2"]) == 2
    err = capsys.readouterr().err
    assert "picamera2 fails to import: ValueError: numpy.dtype size changed" in err and "Traceback" not in err


def test_stream_that_never_opens_exits_3(capsys):
    code = main(["camera", "--source", "http://127.0.0.1:9/stream.mjpg", "--retries", "1", "--backoff", "0"])
    err = capsys.readouterr().err
    assert code == 3 and "camera unavailable: cannot open camera or stream" in err


def test_bad_source_and_arguments(capsys, tmp_path):
    assert main(["camera", "--source", str(tmp_path / "missing.avi")]) == 2
    assert "no such file, folder or camera" in capsys.readouterr().err
    assert main(["camera", "--source", str(tmp_path)]) == 2  # empty folder
    assert "no images in folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["camera", "--detect-every", "0"])


# -- the CLI end to end ---------------------------------------------------------------
def eyegrad_cmd() -> List[str]:
    script = Path(sys.executable).with_name("eyegrad")
    return [str(script)] if script.exists() else [sys.executable, "-m", "eyegrad"]


def test_cli_json_lines_from_a_video(flawed_video):
    proc = subprocess.run(eyegrad_cmd() + ["camera", "--source", str(flawed_video), "--json", "--max-frames", "4"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    recs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["frame"] for r in recs] == [0, 1, 2, 3]
    assert all(set(r) == CAMERA_KEYS and r["faces"] for r in recs)
    assert "camera: stopped (max frames): 4 frames" in proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_stops_cleanly_on_a_signal(tmp_path, faces, sig):
    video = write_video(tmp_path / "long.avi", [scene(faces[i % 4], 40 + i % 50) for i in range(300)])
    proc = subprocess.Popen(eyegrad_cmd() + ["camera", "--source", str(video), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    proc.send_signal(sig)
    rest, err = proc.communicate(timeout=60)
    lines = [first] + rest.splitlines()
    assert proc.returncode == 0, err
    assert [json.loads(line)["frame"] for line in lines] == list(range(len(lines))), err
    assert len(lines) < 300, err
    assert f"camera: stopped ({sig.name})" in err and "Traceback" not in err, err


def test_a_live_scene_is_never_taken_as_one_face_crop(tmp_path, shared_data, detector):
    """A MesoNet crop with no face box, played as a file, is one whole-image face (the relaxed
    search for tight crops); from a live stream the same frames are a scene and give no face."""
    crop = cv2.imread(str(shared_data / "mesonet_df/train/real/real00939.jpg"))
    video = write_video(tmp_path / "crop.avi", [crop] * 3)
    as_file, _, _ = run_loop(VideoFileSource(video), detector)
    assert [r["verdict"] != "no_face" for r in as_file] == [True] * 3
    assert as_file[0]["faces"][0]["box"] == [0, 0, crop.shape[1], crop.shape[0]]
    live, _, _ = run_loop(CaptureSource(str(video)), detector, retries=0)
    assert [r["verdict"] for r in live] == ["no_face"] * 3
