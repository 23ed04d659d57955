"""The face finder on tight face crops that neither the face cascade nor the eye cascade finds,
and on face-free patches (real images from ../shared/data)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eyegrad.runtime.boxes import Box
from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.errors import ModelError
from eyegrad.runtime.eyes import WHOLE_IMAGE_EYE_ROWS, WHOLE_IMAGE_EYE_SCALE_FACTOR
from eyegrad.runtime.faces import FaceFinder
from eyegrad.runtime.haar import cascade
from eyegrad.runtime.modes import RunningMode

from conftest import eye_line_degrees

#: MesoNet frames (a profile, a tilted head, closed eyes) on which the face cascade finds no box
#: and the eye cascade no eye.
TIGHT_CROPS = ("mesonet_df/train/real/real00939.jpg", "mesonet_df/train/real/real01471.jpg",
               "mesonet_df/train/real/real01870.jpg")


@pytest.fixture(scope="module")
def finder() -> FaceFinder:
    return FaceFinder()


@pytest.fixture(scope="module")
def tight_crops(shared_data: Path) -> list:
    return [decode_image(shared_data / name) for name in TIGHT_CROPS]


def test_tight_crops_are_missed_by_both_cascades(finder: FaceFinder, tight_crops) -> None:
    for gray in tight_crops:
        h, w = gray.shape
        assert finder.find_face_boxes(gray) == []
        assert finder.eyes.candidates(gray, Box(0, 0, w, h), WHOLE_IMAGE_EYE_ROWS, WHOLE_IMAGE_EYE_SCALE_FACTOR) == []


def test_relaxed_search_takes_a_tight_crop_as_one_face(finder: FaceFinder, tight_crops) -> None:
    """The whole image is the face; the landmark model still places its eyes (the cascade did not)."""
    for gray in tight_crops:
        h, w = gray.shape
        faces = finder.find(gray)
        assert len(faces) == 1
        assert faces[0].box == Box(0, 0, w, h) and faces[0].eyes_from == "landmarks"


def test_relaxed_search_takes_a_large_tight_crop(finder: FaceFinder, shared_data: Path) -> None:
    """Above ``crop_max_side`` an eye hit alone does not make the image a face; the relaxed
    search, which wants a face filling the image, still does."""
    gray = decode_image(shared_data / "mesonet_df/train/real/real02397.jpg")
    h, w = gray.shape
    assert max(h, w) > finder.crop_max_side and finder.find_face_boxes(gray) == []
    faces = finder.find(gray)
    assert len(faces) == 1 and faces[0].box == Box(0, 0, w, h)


def test_relaxed_search_tilts_the_eyes_of_a_turned_face(turned_face) -> None:
    """An example face turned by 35 degrees, without the landmark model: no face box and no eye hit;
    the relaxed search fires on the copy turned back by 30, and the geometric eyes follow the tilt."""
    finder = FaceFinder(eye_landmarks=False)
    assert finder.find_face_boxes(turned_face) == []
    assert finder.relaxed_face_angle(turned_face) == -30.0
    (face,) = finder.find(turned_face)
    assert face.eyes_from == "geometry"
    assert eye_line_degrees(face) == pytest.approx(-30.0, abs=1.0)


def test_detector_gives_tight_crops_a_verdict(shared_data: Path) -> None:
    detector = Detector(num_threads=1)
    for name in TIGHT_CROPS:
        result = detector.detect(shared_data / name)
        assert result.verdict in ("real", "fake", "uncertain") and 0.0 <= result.p_fake <= 1.0


def test_relaxed_search_ignores_face_free_patches(finder: FaceFinder, shared_data: Path) -> None:
    """Corners of FFHQ portraits (background, hair, clothes), a third of the side: the looser
    search must not take them for faces (2.4% of 450 such patches fired when it was chosen)."""
    fired = 0
    reals = sorted((shared_data / "stylegan_ffhq" / "real").iterdir())[:40]
    for i, path in enumerate(reals):
        gray = decode_image(path)
        h, w = gray.shape
        s = min(h, w) // 3
        y0, x0 = (0, h - s)[i % 2], (0, w - s)[(i // 2) % 2]
        fired += finder.relaxed_face_angle(np.ascontiguousarray(gray[y0:y0 + s, x0:x0 + s])) is not None
    assert fired <= 1


def test_a_missing_cascade_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="Haar cascade not found"):
        cascade("haarcascade_no_such_thing.xml")


def test_the_running_mode_decides_whether_a_picture_may_be_one_face_crop(turned_face) -> None:
    """A face turned beyond the face cascade is one whole-image face as an image or a video frame,
    and no face as a live scene; the camera loop names the mode of each kind of source."""
    from eyegrad.runtime.camera.loop import source_mode
    from eyegrad.runtime.camera.sources import CaptureSource, FolderSource, VideoFileSource

    finder = FaceFinder()
    assert finder.find_face_boxes(turned_face) == []
    assert len(finder.find(turned_face)) == len(finder.find(turned_face, RunningMode.VIDEO)) == 1
    assert finder.find(turned_face, RunningMode.LIVE_STREAM) == []
    assert [m.may_be_a_face_crop for m in RunningMode] == [True, True, False]
    assert source_mode(CaptureSource("rtsp://camera")) == RunningMode.LIVE_STREAM
    assert source_mode(VideoFileSource("clip.mp4")) == RunningMode.VIDEO
    assert source_mode(FolderSource(Path("pictures"))) == RunningMode.IMAGE
