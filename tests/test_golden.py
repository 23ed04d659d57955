"""models/golden/ still matches what the runtime computes: catches drift of decode, faces, features."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from eyegrad.runtime.boxes import Box, Face
from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.faces import FaceFinder
from eyegrad.runtime.features import align_band, eye_centers, eye_features
from eyegrad.runtime.model import DEFAULT_MODEL, EyeModel
from eyegrad.runtime.results import verdict_for
from eyegrad.optimize.check_tflite_runtime import MAX_STEPS
from eyegrad.optimize.golden import DEFAULT_OUT, MANIFEST, sha256_of, write_golden

EXAMPLES = DEFAULT_OUT.parent.parent / "examples"


@pytest.fixture(scope="module")
def manifest() -> dict:
    path = DEFAULT_OUT / MANIFEST
    if not path.exists():
        pytest.fail(f"{path} missing: run `python -m eyegrad.optimize.golden`")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def model() -> EyeModel:
    return EyeModel(DEFAULT_MODEL)


def stored_face(entry: dict) -> Face:
    return Face(Box(*entry["face_box"]), tuple(Box(*e) for e in entry["eyes"]), entry["eyes_from"])


def test_golden_covers_the_examples(manifest, sample_images):
    assert [e["image"] for e in manifest["images"]] == [p.name for p in sample_images]
    assert len(manifest["images"]) == 4


def test_golden_is_for_the_shipped_model(manifest, model):
    assert manifest["model_sha256"] == sha256_of(DEFAULT_MODEL), \
        "models/golden/ was made for another model: run `python -m eyegrad.optimize.golden` after shipping a model"
    assert manifest["geometry"] == model.geometry.to_dict()
    assert manifest["feature_version"] == model.metadata["feature_version"]
    assert manifest["threshold"] == model.threshold and manifest["uncertain_band"] == list(model.uncertain_band)
    assert manifest["views"] == list(model.views) and manifest["zooms"] == list(model.zooms)


def test_face_p_fake_and_verdict_are_the_detectors(manifest, model):
    """The face's p_fake is the mean over every view and zoom, as the detector scores the image."""
    steps = 1 if type(model.interpreter).__module__ == manifest["interpreter"] else MAX_STEPS
    detector = Detector()
    for e in manifest["images"]:
        result = detector.detect(str(EXAMPLES / e["image"]))
        assert abs(result.p_fake - e["face_p_fake"]) <= steps * manifest["output"]["scale"] * 1.0001, e["image"]
        assert e["verdict"] == verdict_for(e["face_p_fake"], tuple(manifest["uncertain_band"]))
    assert any(e["face_p_fake"] != e["p_fake"] for e in manifest["images"])  # more than one band


def test_decode_and_faces_give_the_stored_gray_and_eyes(manifest):
    finder = FaceFinder()
    for e in manifest["images"]:
        gray = decode_image(EXAMPLES / e["image"])
        stored = cv2.imread(str(DEFAULT_OUT / e["gray"]), cv2.IMREAD_UNCHANGED)
        assert stored.dtype == np.uint8 and np.array_equal(gray, stored), e["image"]
        faces = finder.find(gray)
        assert len(faces) == e["faces_found"] and faces[0] == stored_face(e), e["image"]


def fresh_features(entry: dict, model: EyeModel, finder: FaceFinder) -> np.ndarray:
    """The runtime's features of a golden image, from its JPEG: decode, largest face, eye features."""
    gray = decode_image(EXAMPLES / entry["image"])
    return eye_features(gray, finder.find(gray)[0], model.primary_geometry)


def test_band_matches_the_stored_band(manifest, model):
    for e in manifest["images"]:
        gray = cv2.imread(str(DEFAULT_OUT / e["gray"]), cv2.IMREAD_UNCHANGED)
        centres = eye_centers(stored_face(e))
        assert [list(c) for c in centres] == e["eye_centers"]
        band = align_band(gray, *centres, model.primary_geometry.supersampled())
        assert np.array_equal(band, cv2.imread(str(DEFAULT_OUT / e["band"]), cv2.IMREAD_UNCHANGED)), e["image"]


def test_features_and_p_fake_match_the_stored_ones(manifest, model):
    finder, step = FaceFinder(), manifest["output"]["scale"] or 1e-6
    # another interpreter (tflite_runtime vs LiteRT's XNNPACK) rounds int8 a few steps apart
    steps = 1 if type(model.interpreter).__module__ == manifest["interpreter"] else MAX_STEPS
    for e in manifest["images"]:
        features = fresh_features(e, model, finder)
        stored = np.load(DEFAULT_OUT / e["features"])
        assert stored.dtype == np.float32 and stored.shape == (model.geometry.height, model.geometry.width, 3)
        np.testing.assert_allclose(features, stored, atol=1e-4, rtol=0, err_msg=e["image"])
        assert abs(model.predict_one(features) - e["p_fake"]) <= steps * step * 1.0001, e["image"]


def test_stored_input_and_output_follow_the_documented_quantization(manifest):
    q, out = manifest["input"], manifest["output"]
    assert q["dtype"] == "int8" and out["dtype"] == "int8"
    for e in manifest["images"]:
        features = np.load(DEFAULT_OUT / e["features"])
        # the formula of docs/android.md reproduces what the runtime fed the model
        ours = np.clip(np.round(features / q["scale"] + q["zero_point"]), -128, 127).astype(np.int8)
        assert np.array_equal(ours[None], np.load(DEFAULT_OUT / e["input"])), e["image"]
        p = float(np.clip((e["output_raw"] - out["zero_point"]) * out["scale"], 0.0, 1.0))
        assert e["p_fake"] == pytest.approx(p, abs=1e-6), e["image"]


def test_write_golden_is_deterministic(tmp_path, sample_images):
    first = write_golden(DEFAULT_MODEL, sample_images[:1], tmp_path / "a")
    second = write_golden(DEFAULT_MODEL, sample_images[:1], tmp_path / "b")
    assert first == second
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name
