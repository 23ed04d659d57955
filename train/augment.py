"""Seeded augmentation of context crops, and self-blended fakes (SBI).

Every augmentation works on the uint8 context crop around the eyes, whose eye
centres are known (``CONTEXT_GEOMETRY.eye_points()``); the student's and teacher's
bands are then cut from it with ``eyegrad.runtime.features.align_band`` and turned into
features with ``gradient_channels``: the runtime's own code.

The photometric and compression steps exist to defeat the shortcuts of the data:
random JPEG re-compression and rescaling hide each class's original JPEG tables and
resolution; blur, noise, brightness and contrast hide camera and generator quirks.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np

from eyegrad.runtime.features import BandGeometry, align_band, band_features, gradient_channels


class AugmentConfig(NamedTuple):
    """Probabilities and ranges of each augmentation step."""

    flip: float = 0.5
    jitter: float = 0.04          # eye centre jitter, fraction of eye distance
    scale: float = 0.08           # band scale jitter
    rotate_deg: float = 6.0
    rescale: float = 0.5          # probability of down-then-up sampling
    rescale_min: float = 0.35
    blur: float = 0.25
    sharpen: float = 0.0          # probability of an unsharp mask (amount 0.3-1.5)
    counter_sharpness: float = 0.0  # probability that a fake is sharpened, a real blurred
    jpeg: float = 0.75
    jpeg_quality: Tuple[int, int] = (35, 95)
    noise: float = 0.25
    noise_sigma: float = 4.0
    photometric: float = 0.5


#: Named augmentation strengths for `eyegrad train --augment`.
AUGMENT_PRESETS = {
    "strong": AugmentConfig(),
    "light": AugmentConfig(rescale=0.3, rescale_min=0.5, blur=0.15, jpeg=0.6, jpeg_quality=(50, 95), noise=0.15),
}
#: "light", with every crop as likely to be sharpened as to be blurred or rescaled: face
#: swaps are blurrier than their reals, diffusion portraits crisper, so sharpness must
#: tell neither class.
AUGMENT_PRESETS["light-sharpen"] = AUGMENT_PRESETS["light"]._replace(sharpen=0.45)
#: "light-sharpen", and on 30% of crops against the grain of face swaps: fakes sharpened,
#: reals blurred, so that a crisp fake or a soft real photo is not judged by its sharpness.
AUGMENT_PRESETS["light-counter"] = AUGMENT_PRESETS["light-sharpen"]._replace(counter_sharpness=0.3)


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else img


def rescale_roundtrip(img: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape
    small = cv2.resize(img, (max(4, round(w * factor)), max(4, round(h * factor))),
                       interpolation=cv2.INTER_AREA)
    interp = (cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST)[rng.integers(3)]
    return cv2.resize(small, (w, h), interpolation=interp)


def unsharp(img: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    """``img`` sharpened by an unsharp mask: ``img + amount * (img - blur(img))``."""
    blurred = cv2.GaussianBlur(img, (0, 0), sigma)
    return cv2.addWeighted(img, 1 + amount, blurred, -amount, 0)


def photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast and gamma."""
    f = img.astype(np.float32) / 255.0
    f = np.clip((f - 0.5) * rng.uniform(0.7, 1.3) + 0.5 + rng.uniform(-0.12, 0.12), 0, 1)
    f = f ** rng.uniform(0.75, 1.33)
    return (f * 255.0 + 0.5).astype(np.uint8)


def degrade(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig, fake: bool = False) -> np.ndarray:
    """Resolution, blur, compression, noise and photometric changes, each with its probability;
    ``fake`` chooses the direction of ``cfg.counter_sharpness`` (sharpen a fake, blur a real)."""
    if rng.random() < cfg.rescale:
        img = rescale_roundtrip(img, rng.uniform(cfg.rescale_min, 1.0), rng)
    if rng.random() < cfg.blur:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.3))
    if rng.random() < cfg.sharpen:
        img = unsharp(img, rng.uniform(0.3, 1.5), rng.uniform(0.5, 1.5))
    if cfg.counter_sharpness and rng.random() < cfg.counter_sharpness:  # no draw when off: presets keep their stream
        img = (unsharp(img, rng.uniform(0.3, 1.5), rng.uniform(0.5, 1.5)) if fake
               else cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.3)))
    if rng.random() < cfg.photometric:
        img = photometric(img, rng)
    if rng.random() < cfg.jpeg:
        img = jpeg_roundtrip(img, rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
    if rng.random() < cfg.noise:
        noisy = img.astype(np.float32) + rng.normal(0, rng.uniform(0.5, cfg.noise_sigma), img.shape)
        img = np.clip(noisy, 0, 255).astype(np.uint8)
    return img


# -- self-blended images -----------------------------------------------------
def blend_mask(shape: Tuple[int, int], eyes: Sequence[Tuple[float, float]], eye_dist: float,
               rng: np.random.Generator) -> np.ndarray:
    """A soft mask (float32, 0..1) over one eye, both eyes, or the whole eye region."""
    h, w = shape
    mask = np.zeros((h, w), np.float32)
    kind = rng.choice(["one", "both", "region"], p=[0.3, 0.4, 0.3])
    if kind == "region":
        cx = (eyes[0][0] + eyes[1][0]) / 2 + rng.uniform(-0.05, 0.05) * eye_dist
        cy = (eyes[0][1] + eyes[1][1]) / 2 + rng.uniform(-0.1, 0.15) * eye_dist
        axes = (eye_dist * rng.uniform(0.8, 1.2), eye_dist * rng.uniform(0.3, 0.6))
        centres = [(cx, cy, axes)]
    else:
        chosen = [eyes[rng.integers(2)]] if kind == "one" else list(eyes)
        centres = [(x + rng.uniform(-0.05, 0.05) * eye_dist, y + rng.uniform(-0.05, 0.08) * eye_dist,
                    (eye_dist * rng.uniform(0.28, 0.45), eye_dist * rng.uniform(0.15, 0.3)))
                   for x, y in chosen]
    for cx, cy, (ax, ay) in centres:
        cv2.ellipse(mask, (round(cx), round(cy)), (max(2, round(ax)), max(2, round(ay))),
                    rng.uniform(-10, 10), 0, 360, 1.0, -1)
    sigma = eye_dist * rng.uniform(0.04, 0.15)
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    return mask / max(float(mask.max()), 1e-6)


def self_blend(crop: np.ndarray, eyes: Sequence[Tuple[float, float]], rng: np.random.Generator) -> np.ndarray:
    """A fake made from a real crop: a jittered copy of itself blended in around the eyes
    (Shiohara & Yamasaki, CVPR 2022, applied to the eye region)."""
    h, w = crop.shape
    eye_dist = math.dist(eyes[0], eyes[1])
    # geometry of the pasted copy: slight scale, shift and rotation about the eye midpoint
    cx, cy = (eyes[0][0] + eyes[1][0]) / 2, (eyes[0][1] + eyes[1][1]) / 2
    m = cv2.getRotationMatrix2D((cx, cy), rng.uniform(-3, 3), rng.uniform(0.94, 1.06))
    m[:, 2] += rng.uniform(-0.04, 0.04, 2) * eye_dist
    source = cv2.warpAffine(crop, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    source = photometric(source, rng) if rng.random() < 0.8 else source
    r = rng.random()
    if r < 0.3:
        source = cv2.GaussianBlur(source, (0, 0), rng.uniform(0.5, 1.5))
    elif r < 0.5:
        source = unsharp(source, 0.6, 1.0)
    if rng.random() < 0.3:
        source = rescale_roundtrip(source, rng.uniform(0.4, 0.8), rng)
    mask = blend_mask((h, w), eyes, eye_dist, rng) * rng.choice([0.5, 0.75, 1.0, 1.0])
    out = crop.astype(np.float32) * (1 - mask) + source.astype(np.float32) * mask
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


# -- cutting bands -----------------------------------------------------------
def cut_band(crop: np.ndarray, context: BandGeometry, band: BandGeometry,
             rng: Optional[np.random.Generator] = None, cfg: AugmentConfig = AugmentConfig(),
             flip: bool = False) -> np.ndarray:
    """A band cut from a context crop, with optional eye jitter and a horizontal flip."""
    (lx, ly), (rx, ry) = context.eye_points()
    if flip:  # mirror the crop: the eyes swap, the context is centred so the points stay
        crop = crop[:, ::-1]
    if rng is not None:
        d = rx - lx
        lx, ly, rx, ry = (v + rng.normal(0, cfg.jitter * d) for v in (lx, ly, rx, ry))
        cx, cy, s = (lx + rx) / 2, (ly + ry) / 2, 1 + rng.uniform(-cfg.scale, cfg.scale)
        a = math.radians(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg))
        pts = []
        for x, y in ((lx, ly), (rx, ry)):
            x, y = (x - cx) * s, (y - cy) * s
            pts.append((cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a)))
        (lx, ly), (rx, ry) = pts
    return align_band(np.ascontiguousarray(crop), (lx, ly), (rx, ry), band.supersampled())


def augmented_features(crop: np.ndarray, make_fake: bool, context: BandGeometry,
                       bands: Sequence[BandGeometry], rng: np.random.Generator,
                       cfg: AugmentConfig = AugmentConfig(), fake: bool = False) -> list:
    """Feature tensors of one augmented view of a crop, one per band geometry.

    With ``make_fake`` the crop first becomes a self-blended fake. ``fake``: the crop is a fake
    of the data (``degrade``).
    """
    if make_fake:
        crop = self_blend(crop, context.eye_points(), rng)
    crop = degrade(crop, rng, cfg, fake or make_fake)
    flip = rng.random() < cfg.flip
    state = rng.bit_generator.state
    out = []
    for band in bands:  # same jitter for every band: the teacher sees the same view
        rng.bit_generator.state = state
        out.append(gradient_channels(cut_band(crop, context, band, rng, cfg, flip)))
    return out


def plain_features(crop: np.ndarray, context: BandGeometry, band: BandGeometry) -> np.ndarray:
    """Features of an un-augmented crop (validation and evaluation)."""
    return band_features(cut_band(crop, context, band))
