"""Explanations (eye band, gradient maps, occlusion heatmap) and ``eyegrad detect --explain``."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from eyegrad.cli import main
from eyegrad.runtime.explain import IMAGE_NAMES, explain_result, explanation_pngs, heatmap_image


def test_explanations_match_the_detector(detector, sample_images):
    g = detector.model.geometry.supersampled()  # explanations show the band the gradients come from
    for path in sample_images:
        result = detector.detect(str(path))
        explanations = explain_result(detector.model, str(path), result)
        assert len(explanations) == len(result.faces)
        for face, ex in zip(result.faces, explanations):
            assert ex.p_fake == pytest.approx(face.p_fake, abs=1e-6)  # same features, same model
            assert ex.band.shape == ex.gradient.shape == ex.occlusion.shape == (g.height, g.width)
            assert ex.band.dtype == ex.gradient.dtype == np.uint8
            assert ex.heatmap.shape == (g.height, g.width, 3) and ex.heatmap.dtype == np.uint8
            assert np.isfinite(ex.occlusion).all() and np.abs(ex.occlusion).max() <= 1.0
            images = ex.images()
            assert tuple(images) == IMAGE_NAMES
            assert np.array_equal(np.hstack([images["eye_left"], images["eye_right"]]), ex.band)
            for name, png in explanation_pngs(ex, scale=2).items():
                decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
                assert decoded.shape[:2] == (2 * images[name].shape[0], 2 * images[name].shape[1])


def test_heatmap_colours_follow_the_sign():
    band = np.full((48, 128), 128, np.uint8)
    occlusion = np.zeros((48, 128), np.float32)
    occlusion[:, :40] = 0.3    # hiding the left part lowers p_fake: evidence of fake, red
    occlusion[:, -40:] = -0.3  # hiding the right part raises it: evidence of real, blue
    bgr = heatmap_image(band, occlusion).astype(int)
    left, middle, right = bgr[24, 10], bgr[24, 64], bgr[24, 118]
    assert left[2] > left[0] + 50 and right[0] > right[2] + 50
    assert abs(middle[0] - middle[2]) < 5


def test_no_face_gives_no_explanation(detector):
    y, x = np.mgrid[0:200, 0:300]
    gray = ((x + y) * 255 // 500).astype(np.uint8)
    result = detector.detect(gray)
    assert result.verdict == "no_face" and explain_result(detector.model, gray, result) == []


def test_detect_cli_writes_pngs(tmp_path, sample_images, capsys):
    inputs = tmp_path / "in"
    (inputs / "b").mkdir(parents=True)
    shutil.copy(sample_images[0], inputs / sample_images[0].name)
    shutil.copy(sample_images[0], inputs / "b" / sample_images[0].name)  # same stem twice
    y, x = np.mgrid[0:200, 0:300]
    cv2.imwrite(str(inputs / "plain.png"), ((x + y) * 255 // 500).astype(np.uint8))
    out = tmp_path / "explain"
    assert main(["detect", str(inputs), "--explain", str(out)]) == 0
    stem = sample_images[0].stem
    names = sorted(p.name for p in out.iterdir())
    for s in (stem, f"{stem}-2"):
        assert {f"{s}_face0_{n}.png" for n in IMAGE_NAMES} <= set(names)
    assert not any(n.startswith("plain") for n in names)
    assert all(cv2.imread(str(out / n)) is not None for n in names)
    assert "no_face" in capsys.readouterr().out
