"""Video files: sampling and seeking, one result per video with a timeline, tracks, the
aggregation rule, bad videos, and the CLI, evaluate and scan on videos built from real faces."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path
from typing import List

import numpy as np
import pytest

from conftest import EXAMPLES, face_clip, write_one_key_frame_video, write_video
from eyegrad.runtime import Detector
from eyegrad.runtime.model import DEFAULT_MODEL
from eyegrad.runtime import video as video_module
from eyegrad.runtime import video_decode
from eyegrad.runtime.aggregation import AGGREGATIONS, aggregate, trimmed_mean
from eyegrad.runtime.errors import InputError
from eyegrad.runtime.results import Verdict
from eyegrad.runtime.video import VideoFile, VideoInfo, VideoOptions, sample_indices

REAL = EXAMPLES / "real_mesonet_00772.jpg"
FAKE = EXAMPLES / "fake_mesonet_df01254.jpg"


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict:
    """Short videos of the example faces: 3 s at 10 fps."""
    folder = tmp_path_factory.mktemp("clips")
    return {"real": write_video(folder / "real.mp4", face_clip(REAL, 30)),
            "fake": write_video(folder / "fake.avi", face_clip(FAKE, 30))}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eyegrad", *args], capture_output=True, text=True, timeout=300)


# -- sampling ------------------------------------------------------------------------

def test_sample_indices_follow_the_rate_and_spread_over_the_whole_file() -> None:
    info = VideoInfo(frames=250, fps=25.0, width=64, height=64)
    assert sample_indices(info, VideoOptions(sample_fps=2.0, max_frames=100)) == list(range(0, 250, 12))
    spread = sample_indices(info, VideoOptions(sample_fps=25.0, max_frames=5))
    assert spread == [0, 62, 124, 187, 249]  # linspace(0, 249, 5), rounded
    # a stream that does not say its length: its first frames at the sampling rate
    assert sample_indices(VideoInfo(0, 30.0, 64, 64), VideoOptions(max_frames=4)) == [0, 15, 30, 45]
    # a header that claims a huge length costs max_frames indices, not a list of all of them
    huge = sample_indices(VideoInfo(10 ** 12, 25.0, 64, 64), VideoOptions(max_frames=3))
    assert huge[0] == 0 and len(huge) == 3 and huge[-1] > 10 ** 10


def test_seeking_delivers_the_frame_that_was_asked_for(tmp_path: Path) -> None:
    """Each frame's brightness is its index: a sampled frame must be the frame of its index."""
    frames = [np.full((64, 64, 3), i, np.uint8) for i in range(200)]
    path = write_video(tmp_path / "ramp.avi", frames, fps=25.0)  # MJPG: every frame is a key frame
    with VideoFile(path, VideoOptions(sample_fps=0.4, max_frames=8)) as video:  # frames 0, 62, 124, 186
        got = [(f.index, f.time_s, float(f.gray.mean())) for f in video]
    assert [i for i, _, _ in got] == video.indices == sample_indices(video.info, video.options)
    assert max(b - a for a, b in zip(video.indices, video.indices[1:])) > video_module.SEEK_GAP  # seeks happened
    for index, t, brightness in got:
        assert brightness == pytest.approx(index, abs=2.5), index
        assert t == pytest.approx(index / 25.0)


# -- one result per video ------------------------------------------------------------

def test_a_video_gets_one_result_with_its_timeline(detector: Detector, clips: dict) -> None:
    result = detector.detect(str(clips["real"]))
    d = result.to_dict()
    assert result.video is not None and d["frames"] == 6  # 3 s at 10 fps sampled at 2 per second
    assert [p["frame"] for p in d["timeline"]] == [0, 5, 10, 15, 20, 25]
    times = [p["t"] for p in d["timeline"]]
    assert times == sorted(times) and times[0] == 0.0
    assert d["verdict"] in ("real", "fake", "uncertain") and d["duration_s"] == pytest.approx(3.0)
    assert len(d["tracks"]) == 1 and d["tracks"][0]["frames"] == d["frames"] and d["tracks"][0]["steady"]
    assert json.loads(json.dumps(d)) == d


def test_the_video_p_fake_is_the_aggregate_of_its_frames(detector: Detector, clips: dict) -> None:
    d = detector.detect(str(clips["fake"])).to_dict()
    frame_scores = [p["faces"][0]["p_fake"] for p in d["timeline"]]
    assert d["aggregation"] == "trimmed_mean"
    assert d["p_fake"] == pytest.approx(trimmed_mean(np.array(frame_scores)), abs=1e-5)
    assert d["faces"][0]["p_fake"] == d["p_fake"]


def test_each_frame_is_scored_as_the_same_frame_would_be_as_an_image(detector: Detector, clips: dict) -> None:
    d = detector.detect(str(clips["real"])).to_dict()
    with VideoFile(clips["real"]) as video:
        first = next(iter(video))
    assert d["timeline"][0]["faces"][0]["p_fake"] == pytest.approx(detector.detect_gray(first.gray).p_fake, abs=1e-6)


def test_the_real_face_video_scores_below_the_fake_face_video(detector: Detector, clips: dict) -> None:
    assert detector.detect(str(clips["real"])).p_fake < detector.detect(str(clips["fake"])).p_fake


def test_two_faces_give_two_tracks_and_the_most_fake_decides(detector: Detector, tmp_path: Path) -> None:
    pairs = [np.hstack([a, b]) for a, b in zip(face_clip(REAL, 20), face_clip(FAKE, 20))]
    d = detector.detect(str(write_video(tmp_path / "two.mp4", pairs))).to_dict()
    assert len(d["tracks"]) == 2 and all(t["steady"] for t in d["tracks"])
    assert d["p_fake"] == max(t["p_fake"] for t in d["tracks"])
    assert {f["track"] for p in d["timeline"] for f in p["faces"]} == {t["id"] for t in d["tracks"]}
    assert len(d["faces"]) == 2


def test_a_face_that_never_stays_in_one_place_still_decides(detector: Detector, tmp_path: Path) -> None:
    """The face jumps between six places: every track lasts one frame, none is steady, the longest decides."""
    face = face_clip(FAKE, 1)[0]
    frames = []
    for i in range(12):
        canvas = np.full((512, 768, 3), 128, np.uint8)
        y, x = 256 * ((i % 6) // 3), 256 * (i % 3)
        canvas[y:y + 256, x:x + 256] = face
        frames.append(canvas)
    d = detector.detect(str(write_video(tmp_path / "jumpy.mp4", frames, fps=2.0))).to_dict()
    assert d["frames"] == 12 and len(d["tracks"]) >= 6
    steady = [t for t in d["tracks"] if t["steady"]]
    assert len(steady) == 1 and d["verdict"] != "no_face" and d["p_fake"] == steady[0]["p_fake"]


def test_a_video_without_faces_is_no_face(detector: Detector, tmp_path: Path) -> None:
    gray_frames = [np.full((120, 160, 3), 90 + i, np.uint8) for i in range(10)]
    d = detector.detect(str(write_video(tmp_path / "wall.mp4", gray_frames))).to_dict()
    assert d["verdict"] == "no_face" and d["p_fake"] is None and d["frames"] == 2 and d["error"] is None


def test_aggregation_rules() -> None:
    scores = [0.1] * 8 + [0.95, 0.0]
    assert aggregate(scores, "trimmed_mean") == pytest.approx(0.1)  # the odd frames at both ends are dropped
    assert aggregate(scores, "mean") == pytest.approx(0.1750)
    assert aggregate(scores, "max") == 0.95
    assert aggregate([0.2, 0.4, 0.6, 0.8], "top_quarter") == pytest.approx(0.8)
    assert set(AGGREGATIONS) >= {"trimmed_mean", "mean", "median", "top_quarter", "max"}
    with pytest.raises(ValueError):
        aggregate(scores, "mode")
    with pytest.raises(ValueError):
        VideoOptions(aggregation="mode")


# -- bad videos ----------------------------------------------------------------------

def _wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes((np.sin(np.arange(8000) / 5.0) * 8000).astype(np.int16).tobytes())
    return path


@pytest.mark.parametrize("kind", ["truncated", "random", "empty", "audio_only", "missing", "text"])
def test_a_bad_video_is_a_one_line_error(detector: Detector, clips: dict, tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"{kind}.mp4"
    if kind == "truncated":
        data = clips["real"].read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "random":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "audio_only":
        _wav(path)
    elif kind == "text":
        path.write_text("not a video\n" * 100)
    result = detector.detect(str(path))
    assert result.verdict == Verdict.ERROR and result.p_fake is None, result
    assert result.error and "\n" not in result.error and str(path) in result.error


def test_a_huge_resolution_is_refused_before_decoding(detector: Detector, clips: dict, monkeypatch) -> None:
    monkeypatch.setattr(video_decode, "MAX_PIXELS", 200 * 200)  # the clip is 256 x 256
    result = detector.detect(str(clips["real"]))
    assert result.verdict == Verdict.ERROR and "resolution 256x256" in result.error


def test_a_slow_video_stops_at_the_time_limit(clips: dict) -> None:
    slow = Detector(num_threads=1, video=VideoOptions(time_limit_s=1e-6))
    result = slow.detect(str(clips["real"]))
    assert result.verdict == Verdict.ERROR and "took longer than" in result.error


@pytest.fixture(scope="module")
def lying_video(tmp_path_factory) -> Path:
    """100,000 full-HD frames with one key frame, whose header claims 66 hours: the first seek goes past
    the real end, and that one call into the decoder decodes every frame (a minute on 2 cores)."""
    return write_one_key_frame_video(tmp_path_factory.mktemp("hostile") / "lying.mkv", 100_000, 66 * 3600.0,
                                     (1920, 1080))


def test_the_time_limit_holds_on_a_video_that_lies_about_its_length(lying_video: Path) -> None:
    """``detect --video-time-limit 2`` answers with the clip's own error once the limit has passed,
    not when the decoder's one long call returns."""
    proc = run_cli("detect", "--json", "--video-time-limit", "2", str(lying_video))
    result = json.loads(proc.stdout)
    assert result["verdict"] == "error" and "took longer than 2 s" in result["error"], result
    assert result["timing_ms"]["decode"] < 3500, result["timing_ms"]  # the limit, plus the child's start


def _decoding_children() -> List[str]:
    """Command lines of this process's children that decode a video (Linux: read from /proc)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            ppid = next(line for line in status.read_text().splitlines() if line.startswith("PPid:"))
            cmdline = (status.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, StopIteration):
            continue
        if int(ppid.split()[1]) == os.getpid() and "serve_decode" in cmdline:
            found.append(cmdline)
    return found


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="lists child processes through Linux's /proc")
def test_a_read_stopped_at_its_time_limit_leaves_no_decoder_running(lying_video: Path) -> None:
    with pytest.raises(InputError, match="took longer than 0.5 s"):
        with VideoFile(lying_video, VideoOptions(time_limit_s=0.5)) as video:
            list(video)
    assert _decoding_children() == []


def test_a_header_with_a_negative_length_gives_a_duration_from_the_frames_read(detector: Detector,
                                                                             tmp_path: Path) -> None:
    """A JPEG named .mp4 opens as a one-frame stream whose header gives a length of -9.2e18 frames."""
    jpeg_as_video = tmp_path / "photo.mp4"
    jpeg_as_video.write_bytes(REAL.read_bytes())
    result = detector.detect(str(jpeg_as_video)).to_dict()
    assert result["frames"] == 1 and result["duration_s"] == pytest.approx(1 / 25)


def test_a_video_verdict_reads_the_video_band_of_the_model(detector: Detector, clips: dict, tmp_path: Path) -> None:
    """The same clip and scores: a video band below its combined score makes it `fake`, one above
    makes it `real`, while a frame scored as an image keeps the image band."""
    pytest.importorskip("tensorflow", reason="re-embedding metadata needs the train extra")
    from eyegrad.optimize.export import embed_metadata

    p = detector.detect(str(clips["real"])).p_fake
    meta = detector.model.metadata.to_dict()
    verdicts = {}
    for name, band in (("low", [p / 4, p / 2]), ("high", [min(1.0, p * 2), min(1.0, p * 3)])):
        model = tmp_path / f"{name}.tflite"
        model.write_bytes(embed_metadata(DEFAULT_MODEL.read_bytes(), {**meta, "video_band": band}))
        banded = Detector(model, num_threads=1)
        result = banded.detect(str(clips["real"]))
        assert result.p_fake == pytest.approx(p) and banded.model.video_band == tuple(band)
        verdicts[name] = result.verdict
        assert banded.detect(str(REAL)).verdict == detector.detect(str(REAL)).verdict
    assert verdicts == {"low": Verdict.FAKE, "high": Verdict.REAL}


def test_video_options_are_checked() -> None:
    for bad in ({"sample_fps": 0}, {"max_frames": 0}, {"time_limit_s": -1}):
        with pytest.raises(ValueError):
            VideoOptions(**bad)


def test_reading_an_unusable_file_raises_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no video stream|no frames"):
        VideoFile(_wav(tmp_path / "sound.mp4"))


# -- CLI, evaluate, scan -------------------------------------------------------------

def test_detect_cli_gives_one_result_per_video_and_image(clips: dict, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name, path in clips.items():
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "face.jpg").write_bytes(REAL.read_bytes())
    proc = run_cli("detect", "--json", "--frames-per-video", "4", str(folder))
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(Path(r["path"]).name for r in results) == ["face.jpg", "fake.avi", "real.mp4"]
    videos = [r for r in results if "timeline" in r]
    assert len(videos) == 2 and all(r["frames"] == 4 == len(r["timeline"]) for r in videos)
    assert "frames" in proc.stderr  # the progress line of each video


def test_detect_cli_table_names_the_video_frames(clips: dict) -> None:
    proc = run_cli("detect", "--aggregate", "median", str(clips["real"]))
    assert proc.returncode == 0, proc.stderr
    assert "video: 6 frames scored, 1 face track(s)" in proc.stdout


def test_detect_cli_refuses_bad_video_options(clips: dict) -> None:
    proc = run_cli("detect", "--sample-fps", "0", str(clips["real"]))
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "sample_fps" in proc.stderr


def test_evaluate_reports_per_video_metrics(clips: dict, tmp_path: Path) -> None:
    data = tmp_path / "videos"
    for label, image in (("real", REAL), ("fake", FAKE)):
        (data / label).mkdir(parents=True)
        for i in range(2):
            write_video(data / label / f"{label}{i}.mp4", face_clip(image, 12 + 4 * i))
    out = tmp_path / "report.json"
    proc = run_cli("evaluate", str(data), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["n"] == 4 and report["coverage"] == 1.0
    assert all("timeline" in r for r in report["per_image"])
    assert report["auc"] == 1.0  # both real videos score below both fake ones


def test_scan_records_a_video_with_its_hash(clips: dict, tmp_path: Path) -> None:
    import hashlib

    out = tmp_path / "results.jsonl"
    proc = run_cli("scan", str(clips["real"]), "--out", str(out), "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    (record,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert record["verdict"] in ("real", "fake", "uncertain")
    assert record["sha256"] == hashlib.sha256(clips["real"].read_bytes()).hexdigest()
    assert record["file_size"] == clips["real"].stat().st_size
