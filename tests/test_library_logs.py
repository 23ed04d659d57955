"""The native libraries' lines (TFLite, OpenCV, FFmpeg) stay off stderr unless ``--verbose``."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from conftest import face_clip, write_video

NOISE = ("INFO: Created TensorFlow Lite", "moov atom not found", "[ WARN:")


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory, sample_images) -> Path:
    """A real clip of an example face with its second half (and so its index) cut off."""
    whole = write_video(tmp_path_factory.mktemp("video") / "whole.mp4", face_clip(sample_images[0], 10))
    cut = whole.with_name("cut.mp4")
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return cut


def detect_stderr(*argv: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EYEGRAD_", "OPENCV_"))}
    proc = subprocess.run([sys.executable, "-m", "eyegrad", "detect", *argv], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    assert "verdict" in proc.stdout
    return proc.stderr


def test_detect_prints_no_library_line(sample_images: List[Path], cut_video: Path) -> None:
    err = detect_stderr(str(sample_images[0].parent), str(cut_video))
    assert not [n for n in NOISE if n in err], err


def test_verbose_shows_them(sample_images: List[Path], cut_video: Path) -> None:
    err = detect_stderr("--verbose", str(sample_images[0]), str(cut_video))
    assert "INFO: Created TensorFlow Lite" in err and "moov atom not found" in err
