"""Why a face got its score: the eye band the model saw, its gradients and an occlusion map.

Everything is computed with the runtime's own feature code (``face_band`` and
``gradient_channels``, i.e. ``eye_features``) and the model's ``score_band``, so it
works with any .tflite. The occlusion map slides a grey patch over the aligned eye
band, re-runs the model, and records how much p_fake drops where each pixel is hidden:
positive (red) where that region pushed the score towards fake, negative (blue) where
it pushed towards real.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, NamedTuple, Tuple

import cv2
import numpy as np

from .boxes import Face
from .decode import ImageSource, decode_image
from .features import SUPERSAMPLE, face_band, gradient_channels
from .model import EyeModel
from .results import DetectResult

#: Value of the magnitude channel (FEATURE_SCALE x the gradient of gray/255, clipped at FEATURE_CLIP)
#: shown as white: about where the sharpest edges of an eye band (its top percent) lie.
GRADIENT_WHITE = 4.0
#: A p_fake change of at least this much is drawn at full colour in the heatmap.
MIN_HEAT_SCALE = 0.05
#: Names of the images of one face, in display order.
IMAGE_NAMES = ("band", "eye_left", "eye_right", "gradient_left", "gradient_right", "occlusion")


class FaceExplanation(NamedTuple):
    """The explanation of one face; images are uint8, the heatmap is BGR."""

    band: np.ndarray        # H x W gray: the aligned (supersampled) eye band the features come from
    gradient: np.ndarray    # H x W gray: the model's magnitude channel, enlarged to the band's size
    occlusion: np.ndarray   # H x W float32: p_fake drop when a patch covers that pixel
    heatmap: np.ndarray     # H x W x 3 BGR: occlusion map over the band
    p_fake: float           # the face's score, as the detector gives it (every view and zoom)

    def images(self) -> Dict[str, np.ndarray]:
        """The explanation images by name (see IMAGE_NAMES): the band, split into eyes."""
        half = self.band.shape[1] // 2
        return {"band": self.band, "eye_left": self.band[:, :half], "eye_right": self.band[:, half:],
                "gradient_left": self.gradient[:, :half], "gradient_right": self.gradient[:, half:],
                "occlusion": self.heatmap}


def gradient_image(features: np.ndarray) -> np.ndarray:
    """The magnitude channel of a feature tensor as a uint8 image."""
    mag = features[..., 2] * (255.0 / GRADIENT_WHITE)
    return np.clip(mag, 0, 255).astype(np.uint8)


def occlusion_map(band: np.ndarray, model: EyeModel, patch: Tuple[int, int] = (16 * SUPERSAMPLE, 16 * SUPERSAMPLE),
                  stride: int = 8 * SUPERSAMPLE) -> np.ndarray:
    """p_fake(band) - p_fake(band with a grey patch), averaged per pixel (on the one band given:
    explanations occlude the first zoom's band, not every zoom the verdict averages over)."""
    h, w = band.shape
    ph, pw = min(patch[0], h), min(patch[1], w)
    base = model.score_band(band)
    grey = int(round(float(band.mean())))
    total = np.zeros((h, w), np.float32)
    count = np.zeros((h, w), np.float32)
    ys = sorted(set(list(range(0, h - ph + 1, stride)) + [h - ph]))
    xs = sorted(set(list(range(0, w - pw + 1, stride)) + [w - pw]))
    for y in ys:
        for x in xs:
            hidden = band.copy()
            hidden[y:y + ph, x:x + pw] = grey
            total[y:y + ph, x:x + pw] += base - model.score_band(hidden)
            count[y:y + ph, x:x + pw] += 1.0
    return total / np.maximum(count, 1.0)


def heatmap_image(band: np.ndarray, occlusion: np.ndarray, smooth: float = 4.0) -> np.ndarray:
    """Red (towards fake) / blue (towards real) over the gray band, BGR uint8.

    The map is blurred by ``smooth`` pixels for display, hiding the patch grid.
    """
    if smooth > 0:
        occlusion = cv2.GaussianBlur(occlusion, (0, 0), smooth, borderType=cv2.BORDER_REPLICATE)
    scale = max(float(np.abs(occlusion).max()), MIN_HEAT_SCALE)
    v = np.clip(occlusion / scale, -1.0, 1.0)[..., None]
    base = cv2.cvtColor(band, cv2.COLOR_GRAY2BGR).astype(np.float32)
    red, blue = np.array([40, 40, 230], np.float32), np.array([230, 120, 30], np.float32)
    colour = np.where(v >= 0, red, blue)
    alpha = 0.75 * np.abs(v)
    return np.clip(base * (1 - alpha) + colour * alpha, 0, 255).astype(np.uint8)


def explain_face(gray: np.ndarray, face: Face, model: EyeModel) -> FaceExplanation:
    """Band, gradient map and occlusion heatmap of one face, with the model's p_fake."""
    band = face_band(gray, face, model.primary_geometry)
    occlusion = occlusion_map(band, model)
    gradient = cv2.resize(gradient_image(gradient_channels(band)), band.shape[::-1], interpolation=cv2.INTER_NEAREST)
    return FaceExplanation(band, gradient, occlusion, heatmap_image(band, occlusion),
                           model.score_views(model.face_views(gray, face)))


def explain_faces(gray: np.ndarray, faces: List[Face], model: EyeModel) -> List[FaceExplanation]:
    """One explanation per face, in the order given."""
    return [explain_face(gray, f, model) for f in faces]


def png_bytes(image: np.ndarray, scale: int = 3) -> bytes:
    """Encode a uint8 gray or BGR image as PNG, enlarged ``scale`` times for viewing."""
    if scale > 1:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def explanation_pngs(explanation: FaceExplanation, scale: int = 3) -> Dict[str, bytes]:
    """Every explanation image of a face as PNG bytes, by name."""
    return {name: png_bytes(img, scale) for name, img in explanation.images().items()}


def explain_result(model: EyeModel, source: ImageSource, result: DetectResult) -> List[FaceExplanation]:
    """Explanations of the faces of a detect result, from the image source it was made from."""
    if not result.faces:
        return []
    return explain_faces(decode_image(source), [f.face for f in result.faces], model)


def write_explanations(model: EyeModel, source: ImageSource, result: DetectResult, out_dir: Path,
                       stem: str) -> List[Path]:
    """Write ``<stem>_face<i>_<name>.png`` for every face of a result; returns the paths."""
    explanations = explain_result(model, source, result)
    if explanations:
        out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, expl in enumerate(explanations):
        for name, data in explanation_pngs(expl).items():
            path = out_dir / f"{stem}_face{i}_{name}.png"
            path.write_bytes(data)
            written.append(path)
    return written
