"""Shared fixtures: the repo's example images, the optional ../shared data, and videos made from them."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import List, Sequence

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
EXAMPLES = REPO / "examples"
#: How far ``turned_face`` turns the example (degrees): beyond what the face cascade finds.
TURN_DEGREES = 35


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip the test when it is not beside the repo."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"needs ../shared/data beside the repo ({SHARED_DATA} not found)")
    return SHARED_DATA


@pytest.fixture(scope="module")
def detector():
    """A Detector on the shipped model, one per test module, on one interpreter thread."""
    from eyegrad.runtime.detector import Detector

    return Detector(num_threads=1)


@pytest.fixture(scope="session")
def sample_images() -> List[Path]:
    """The four MesoNet sample faces bundled in examples/ (two real, two fake)."""
    return sorted(EXAMPLES.glob("*.jpg"))


@pytest.fixture(scope="session")
def turned_face(sample_images: List[Path]) -> np.ndarray:
    """The last example face, gray, turned by ``TURN_DEGREES`` counter-clockwise about its centre."""
    from eyegrad.runtime.decode import decode_image

    gray = decode_image(sample_images[3])
    h, w = gray.shape
    return cv2.warpAffine(gray, cv2.getRotationMatrix2D((w / 2, h / 2), TURN_DEGREES, 1.0), (w, h),
                          borderMode=cv2.BORDER_REPLICATE)


def strict_json(text: str):
    """``json.loads`` that refuses NaN and Infinity, as JSON parsers outside Python do."""
    def refuse(name: str):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def eye_line_degrees(face) -> float:
    """The angle of the line from a face's image-left eye to its right eye (image y down)."""
    (lx, ly), (rx, ry) = (e.center for e in face.eyes)
    return math.degrees(math.atan2(ry - ly, rx - lx))


def write_video(path: Path, frames: Sequence[np.ndarray], fps: float = 10.0) -> Path:
    """Write BGR ``frames`` (all one size) as a video file; the codec follows the suffix."""
    fourcc = {".avi": "MJPG", ".mkv": "XVID", ".webm": "VP80"}.get(path.suffix.lower(), "mp4v")
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"OpenCV cannot write {path.suffix} here"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def face_clip(image: Path, n_frames: int, size: int = 256) -> List[np.ndarray]:
    """``n_frames`` of one face image, shifted by a pixel or two from frame to frame like a steady camera."""
    face = cv2.resize(cv2.imread(str(image)), (size, size), interpolation=cv2.INTER_AREA)
    return [np.roll(face, i % 3, axis=1) for i in range(n_frames)]



def write_one_key_frame_video(path: Path, n_frames: int, claimed_s: float = 0.0, size=(640, 360)) -> Path:
    """``hostile_media.one_key_frame_video``, skipped where PyAV (the dev extra) is missing."""
    pytest.importorskip("av", reason="PyAV (the dev extra) writes the hostile test videos")
    from eyegrad.benchmarks.hostile_media import one_key_frame_video

    return one_key_frame_video(path, n_frames, claimed_s, size)
