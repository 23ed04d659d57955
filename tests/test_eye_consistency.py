"""The two-eye comparisons of ``train --eye-consistency``, on the bands of real faces."""
from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np
import pytest

from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.faces import FaceFinder
from eyegrad.runtime.features import CHANNELS, eye_features, mirror_features
from eyegrad.train.layers import EyeMirrorDifference, EyeShiftDifference
from eyegrad.train.models import eye_spacing_px, student_builder
from eyegrad.train.run import PERIOCULAR_GEOMETRY, STUDENT_BANDS

EYE_SPACING_PX = eye_spacing_px(PERIOCULAR_GEOMETRY)


@pytest.fixture(scope="module")
def bands(sample_images: List[Path]) -> np.ndarray:
    """The periocular features of the four example faces, as a batch."""
    finder = FaceFinder()
    out = []
    for path in sample_images:
        gray = decode_image(path)
        out.append(eye_features(gray, finder.find(gray)[0], PERIOCULAR_GEOMETRY))
    return np.stack(out)


def eye_line_difference(bands: np.ndarray, shift: int) -> float:
    """Mean |band - band moved by ``shift``| over the 20 rows around the eye line."""
    row = round(PERIOCULAR_GEOMETRY.eye_y * PERIOCULAR_GEOMETRY.height)
    diff = EyeShiftDifference(shift)(bands).numpy()
    return float(diff[:, row - 10:row + 10].mean())


def test_moving_the_band_by_the_eye_spacing_lays_one_eye_on_the_other(bands: np.ndarray):
    at_spacing = eye_line_difference(bands, EYE_SPACING_PX)
    assert at_spacing < eye_line_difference(bands, EYE_SPACING_PX - 16)
    assert at_spacing < eye_line_difference(bands, EYE_SPACING_PX + 16)
    width = PERIOCULAR_GEOMETRY.width - EYE_SPACING_PX
    assert EyeShiftDifference(EYE_SPACING_PX)(bands).shape == (len(bands), PERIOCULAR_GEOMETRY.height, width, 3)


def test_the_mirror_comparison_is_the_band_against_the_runtimes_mirror_view(bands: np.ndarray):
    half = PERIOCULAR_GEOMETRY.width // 2
    got = EyeMirrorDifference()(bands).numpy()
    want = np.abs(bands - mirror_features(bands))[:, :, :half]
    np.testing.assert_allclose(got, want, atol=1e-6)
    # a face is closer to its own mirror image than to another face's
    other_face = np.abs(bands - mirror_features(np.roll(bands, 1, axis=0)))[:, :, :half]
    assert got.mean() < other_face.mean()


@pytest.mark.parametrize("band_name", sorted(STUDENT_BANDS))
def test_the_comparisons_add_a_small_branch_to_the_student(band_name: str):
    band = STUDENT_BANDS[band_name]
    shape = (band.height, band.width, len(CHANNELS))
    plain, compared = (student_builder(band, consistency)(shape) for consistency in (False, True))
    shifts = [layer.shift for layer in compared.layers if isinstance(layer, EyeShiftDifference)]
    assert shifts == [eye_spacing_px(band)] == [58]  # both bands have the same pixel scale
    # the figure the model card and research/eye_consistency.md give
    assert compared.count_params() - plain.count_params() == 2624
