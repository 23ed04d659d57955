"""One pipeline: the Detector's stage timings, its video mode, the interpreter adapter, and the
benchmarks that read them, on the sample images in examples/."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List

import cv2
import numpy as np
import pytest

from eyegrad.benchmarks.accuracy import eyegrad_scores, prepare
from eyegrad.benchmarks.latency import STAGES as BENCH_STAGES, stage_times
from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.timing import STAGES
from eyegrad.runtime.errors import InputError, ModelError
from eyegrad.runtime.interpreter import INTERPRETER_ENV, TfliteModel, interpreter_class
from eyegrad.runtime.model import DEFAULT_MODEL, EyeModel
from eyegrad.runtime.modes import RunningMode
from eyegrad.runtime.results import TIMING_KEYS
from eyegrad.runtime.tracking import Tracker
from eyegrad.optimize.check_tflite_runtime import MAX_STEPS
from eyegrad.optimize.golden import DEFAULT_OUT, MANIFEST

FRAME_H, FRAME_W = 360, 640


@pytest.fixture(scope="module")
def golden() -> dict:
    return json.loads((DEFAULT_OUT / MANIFEST).read_text())


def scene(gray_face: np.ndarray, x: int, shape=(FRAME_H, FRAME_W)) -> np.ndarray:
    """A gray frame: a flat room with one sample face, 200 px, whose left edge is at ``x``."""
    frame = np.full(shape, 90, np.uint8)
    top = (shape[0] - 200) // 2
    frame[top: top + 200, x: x + 200] = cv2.resize(gray_face, (200, 200))
    return frame


# -- the Detector's stage timings ---------------------------------------------
def test_timing_has_every_stage_and_detect_is_faces_plus_eyes(detector, sample_images):
    for path in sample_images:
        result = detector.detect(path)
        t = result.timing_ms
        assert result.faces, path
        assert set(t) == set(STAGES) | {"detect", "total"}
        assert all(t[s] > 0 for s in STAGES), t
        assert t["detect"] == pytest.approx(t["faces"] + t["eyes"], abs=1e-9)
        assert t["total"] == pytest.approx(sum(t[s] for s in STAGES), abs=1e-9)
        assert list(result.to_dict()["timing_ms"]) == list(TIMING_KEYS)  # the JSON contract is unchanged


def test_failed_decode_times_only_decode(detector):
    result = detector.detect(b"not an image")
    assert result.verdict == "error" and set(result.timing_ms) == {"decode"}


def test_find_then_score_is_detect(detector, sample_images):
    for path in sample_images:
        gray = decode_image(path)
        faces, ms = detector.find_faces(gray)
        assert set(ms) == {"faces", "eyes"}
        scored = detector.score_faces(gray, faces)
        expected = detector.detect(path)
        assert scored.p_fake == expected.p_fake and scored.faces == expected.faces
        assert scored.timing_ms["faces"] == scored.timing_ms["detect"] == 0.0  # no search was timed here


# -- video mode ----------------------------------------------------------------
@pytest.fixture(scope="module")
def frames(sample_images) -> List[np.ndarray]:
    """Seven frames of one face moving right, then two of another face in a larger frame."""
    a, b = decode_image(sample_images[0]), decode_image(sample_images[2])
    return [scene(a, 40 + 6 * i) for i in range(7)] + [scene(b, 300, (FRAME_H + 40, FRAME_W))] * 2


def test_stream_searches_every_nth_frame_and_on_a_new_shape(detector, frames):
    stream = detector.stream(detect_every=3)
    searched, results = [], []
    for i, gray in enumerate(frames):
        result, did = stream.detect_frame(gray, i)
        searched.append(did)
        results.append(result)
    # 0, 3, 6 are due; 7 is a new frame size, searched at once; 8 re-uses 7's boxes
    assert searched == [True, False, False, True, False, False, True, True, False]
    assert stream.searches == 4
    for i, (gray, result, did) in enumerate(zip(frames, results, searched)):
        assert result.faces, i
        if did:  # a searched frame is exactly what detect gives
            expected = detector.detect_gray(gray, mode=RunningMode.LIVE_STREAM)
            assert result.p_fake == expected.p_fake and result.faces == expected.faces
            assert result.timing_ms["detect"] > 0
        else:  # in between: the last search's boxes, scored on this frame's pixels
            last = max(j for j in range(i) if searched[j])
            boxes = [f.face for f in results[last].faces]
            assert [f.face for f in result.faces] == boxes
            assert result.p_fake == detector.score_faces(gray, boxes).p_fake
            assert result.timing_ms["faces"] == result.timing_ms["eyes"] == result.timing_ms["detect"] == 0.0


def test_stream_searches_again_after_a_failed_frame(detector, frames):
    stream = detector.stream(detect_every=10)
    assert stream.detect_frame(frames[0], 0)[1]
    assert not stream.detect_frame(frames[1], 1)[1]
    with pytest.raises(cv2.error):  # same shape, so not searched, but float64 pixels the features refuse
        stream.detect_frame(frames[2].astype(np.float64), 2)
    assert stream.detect_frame(frames[3], 3)[1] and stream.searches == 2


def test_track_frame_is_one_step_for_good_and_bad_frames(detector, frames):
    """The camera loop's and video files' frame step: a good frame adds its faces to the tracker; a
    bad one is an ``error`` result naming the frame, with no tracks, the tracker left as it was."""
    stream, tracker = detector.stream(detect_every=10), Tracker(window=5)
    good = stream.track_frame(tracker, frames[0], 0, path="clip", decode_ms=1.5)
    assert good.searched and good.result.faces and good.result.error is None
    assert [t.id for t in good.tracks] == [1] and tracker.started == 1 and good.result.timing_ms["decode"] == 1.5
    bad = stream.track_frame(tracker, frames[1].astype(np.float64), 1, path="clip", decode_ms=2.0)
    assert bad.result.verdict == "error" and bad.result.error.startswith("frame 1: ") and "\n" not in bad.result.error
    assert bad.result.path == "clip" and bad.result.timing_ms == {"decode": 2.0}
    assert bad.tracks == [] and not bad.searched and tracker.tracks[0].missed == 0
    again = stream.track_frame(tracker, frames[2], 2)
    assert again.searched and [t.id for t in again.tracks] == [1]  # searched after the bad frame, same track


def test_stream_searches_the_small_image_and_scales_the_boxes_up(detector, frames):
    gray = frames[0]
    small = cv2.resize(gray, (FRAME_W // 2, FRAME_H // 2), interpolation=cv2.INTER_AREA)
    result, searched = detector.stream().detect_frame(gray, 0, small=small)
    full = detector.detect_gray(gray, mode=RunningMode.LIVE_STREAM)
    assert searched and len(result.faces) == len(full.faces) == 1
    assert result.faces[0].face.box.iou(full.faces[0].face.box) > 0.7


# -- the interpreter adapter -------------------------------------------------------
@pytest.mark.parametrize("source", ["path", "bytes"])
def test_tflite_model_matches_eye_model_and_golden_files(golden, source):
    tflite = TfliteModel(DEFAULT_MODEL if source == "path" else DEFAULT_MODEL.read_bytes(), num_threads=1)
    model = EyeModel(DEFAULT_MODEL, num_threads=1)
    assert tflite.size_bytes == DEFAULT_MODEL.stat().st_size and tflite.input_type == golden["input"]["dtype"]
    same_interpreter = type(tflite.interpreter).__module__ == golden["interpreter"]
    step = golden["output"]["scale"]
    for e in golden["images"]:
        features = np.load(DEFAULT_OUT / e["features"])
        stored = np.load(DEFAULT_OUT / e["input"])
        assert tflite.input_tensor(features).dtype == stored.dtype
        assert np.array_equal(tflite.input_tensor(features), stored), e["image"]  # bit-identical quantization
        p_fake = float(np.clip(tflite.predict(features).reshape(-1)[0], 0.0, 1.0))
        assert p_fake == model.predict_one(features), e["image"]
        raw = int(tflite.raw_output().reshape(-1)[0])
        if same_interpreter:
            assert raw == e["output_raw"] and p_fake == pytest.approx(e["p_fake"], abs=1e-6), e["image"]
        else:
            assert abs(raw - e["output_raw"]) <= MAX_STEPS and abs(p_fake - e["p_fake"]) <= MAX_STEPS * step * 1.0001


def test_tflite_model_refuses_what_is_not_a_model(tmp_path: Path):
    with pytest.raises(ModelError, match="TFLite cannot load model bytes"):
        TfliteModel(b"not a model")
    with pytest.raises(ModelError, match="cannot read model"):
        TfliteModel(tmp_path / "absent.tflite")


def test_forced_interpreter(monkeypatch):
    monkeypatch.setenv(INTERPRETER_ENV, "litert")
    assert interpreter_class().__module__.startswith("ai_edge_litert")
    monkeypatch.setenv(INTERPRETER_ENV, "no-such-interpreter")
    with pytest.raises(ModelError, match=INTERPRETER_ENV):
        TfliteModel(DEFAULT_MODEL)


# -- benchmarks read the Detector ----------------------------------------------------
def test_latency_stages_are_a_detector_run(detector, sample_images):
    assert BENCH_STAGES == (*STAGES, "total", "total_cpu")
    for path in sample_images:
        t = stage_times(detector, path.read_bytes())
        assert set(t) == set(BENCH_STAGES) and all(v > 0 for v in t.values()), t
        assert t["total"] == sum(t[s] for s in STAGES)  # the Detector's own sum of its stages
    with pytest.raises(InputError):
        stage_times(detector, b"not an image")


def test_accuracy_scores_are_the_detectors(detector, sample_images):
    files = [(p, int(p.name.startswith("fake"))) for p in sample_images]
    items = prepare({"samples": files}, detector)
    second = Detector(finder=detector.finder)  # one Detector per model, sharing the faces found
    assert eyegrad_scores(second, items) == [detector.detect(p).p_fake for p in sample_images]
