"""`eyegrad camera` as a newcomer meets it: the default source, no camera, a video file, a folder."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import List

import pytest

from conftest import face_clip, write_video
from eyegrad.cli import main

FPS = 10.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory, sample_images: List[Path]) -> Path:
    """Ten frames of one example face at ``FPS`` frames per second."""
    return write_video(tmp_path_factory.mktemp("clip") / "face.avi", face_clip(sample_images[0], 10), FPS)


@pytest.mark.skipif(Path("/dev/video0").exists() or importlib.util.find_spec("picamera2") is not None,
                    reason="a camera may be present here")
def test_no_camera_is_said_in_one_line_within_15_s(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "eyegrad", "camera"], capture_output=True, text=True,
                          timeout=15, cwd=tmp_path)
    assert proc.returncode == 3
    assert proc.stderr.strip().count("\n") == 0 and "no webcam 0" in proc.stderr
    assert proc.stdout == ""


def test_a_video_file_prints_a_row_per_frame_and_says_how_fast_it_reads(clip: Path, capsys) -> None:
    assert main(["camera", "--source", str(clip)]) == 0
    out, err = capsys.readouterr()
    rows = out.splitlines()
    assert [int(r.split()[0]) for r in rows] == list(range(10))
    assert all(r.split()[1] in ("real", "fake", "uncertain") for r in rows)
    assert "as fast as it decodes" in err


def test_realtime_reads_a_video_file_at_its_frame_rate(clip: Path, capsys) -> None:
    t0 = time.monotonic()
    assert main(["camera", "--source", str(clip), "--realtime"]) == 0
    assert time.monotonic() - t0 >= 9 / FPS  # the tenth frame is not read before 0.9 s
    assert "at its own frame rate" in capsys.readouterr().err


def test_a_folder_of_different_people_gives_each_picture_its_own_track(sample_images: List[Path], capsys) -> None:
    assert main(["camera", "--source", str(sample_images[0].parent), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == len(sample_images)
    tracks = [t for r in records for t in r["tracks"]]
    assert len(tracks) == len(sample_images) == len(set(tracks))
