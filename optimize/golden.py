"""Golden input/output pairs of the shipped model, for ports of the runtime (Android apps).

For each example image, ``models/golden/`` holds every intermediate of the runtime so a
port can be checked step by step:

- ``<name>.gray.png``: the decoded 8-bit grayscale image (lossless, so a port's test
  need not depend on its JPEG decoder);
- ``<name>.band.png``: the aligned uint8 eye band (geometry height x width, times SUPERSAMPLE);
- ``<name>.features.npy``: the float32 feature tensor (H x W x 3: sobel_x, sobel_y, magnitude);
- ``<name>.input_int8.npy``: that tensor quantized for the model (1 x H x W x 3 int8);
- ``golden.json``: the model's hash, the interpreter that ran it, geometry, input/output
  quantization, threshold, band, views and zooms, and per image the face and eye boxes, the eye centres, the
  raw int8 output and p_fake of the first zoom's band, and the face's p_fake (the mean over every view and zoom,
  what the detector returns) with its verdict.

Only the largest face of an image is recorded, found and scored by the ``Detector``. No
timestamps: the same model and images give byte-identical files. Regenerate after shipping
a model::

    python -m eyegrad.optimize.golden [--model models/eyegrad.tflite] [--out models/golden] [IMAGES...]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence, Union

import cv2
import numpy as np

from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.features import CHANNELS, FEATURE_CLIP, FEATURE_SCALE, SUPERSAMPLE, band_features, eye_centers, face_band
from eyegrad.runtime.model import DEFAULT_MODEL
from eyegrad.runtime.results import verdict_for

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "models" / "golden"
DEFAULT_IMAGES = tuple(sorted((REPO / "examples").glob("*.jpg")))
MANIFEST = "golden.json"

PathLike = Union[str, os.PathLike]


def sha256_of(path: PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def quantization(details: Dict) -> Dict:
    """A tensor's dtype, scale and zero point (from the interpreter's details)."""
    scale, zero = details["quantization"]
    return {"dtype": np.dtype(details["dtype"]).name, "scale": float(scale), "zero_point": int(zero)}


def golden_entry(detector: Detector, image: Path, out_dir: Path) -> Dict:
    """Write one image's intermediates into ``out_dir``; its entry of the manifest."""
    model = detector.model
    gray = decode_image(image)
    faces, _ = detector.find_faces(gray)
    if not faces:
        raise EyegradError(f"{image}: no face found; golden images need one")
    face = faces[0]
    left, right = eye_centers(face)
    band = face_band(gray, face, model.primary_geometry)
    features = band_features(band)  # = eye_features(gray, face, model.primary_geometry), from the band written below
    p_fake = model.predict_one(features)
    raw = model.tflite.raw_output()  # the output of that invoke
    face_p_fake = detector.score_faces(gray, [face]).p_fake
    stem = image.stem
    cv2.imwrite(str(out_dir / f"{stem}.gray.png"), gray)
    cv2.imwrite(str(out_dir / f"{stem}.band.png"), band)
    np.save(out_dir / f"{stem}.features.npy", features)
    np.save(out_dir / f"{stem}.input_int8.npy", model.tflite.input_tensor(features))  # exactly what the model got
    return {"image": image.name, "gray": f"{stem}.gray.png", "band": f"{stem}.band.png",
            "features": f"{stem}.features.npy", "input": f"{stem}.input_int8.npy",
            "image_size": [int(gray.shape[1]), int(gray.shape[0])], "faces_found": len(faces),
            "face_box": [int(v) for v in face.box], "eyes": [[int(v) for v in e] for e in face.eyes],
            "eyes_from": face.eyes_from, "eye_centers": [list(left), list(right)],
            "output_raw": int(raw.reshape(-1)[0]) if raw.dtype != np.float32 else float(raw.reshape(-1)[0]),
            "p_fake": p_fake, "face_p_fake": face_p_fake,
            "verdict": verdict_for(face_p_fake, model.uncertain_band).value}


def write_golden(model_path: Optional[PathLike] = None, image_paths: Sequence[PathLike] = DEFAULT_IMAGES,
                 out_dir: PathLike = DEFAULT_OUT) -> Dict:
    """Write the golden files of ``model_path`` for ``image_paths`` into ``out_dir``; the manifest."""
    detector = Detector(model_path)
    model = detector.model
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "model": model.path.name, "model_sha256": sha256_of(model.path),
        "interpreter": type(model.tflite.interpreter).__module__,
        "feature_version": model.metadata.feature_version, "channels": list(CHANNELS),
        "feature_scale": FEATURE_SCALE, "feature_clip": FEATURE_CLIP, "supersample": SUPERSAMPLE,
        "geometry": model.geometry.to_dict(),
        "input": quantization(model.tflite.input_details),
        "output": quantization(model.tflite.output_details),
        "threshold": model.threshold, "uncertain_band": list(model.uncertain_band),
        "views": list(model.views), "zooms": list(model.zooms),
        "images": [golden_entry(detector, Path(p), out) for p in image_paths],
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description="Write the golden input/output files of a model (models/golden/).")
    p.add_argument("images", nargs="*", type=Path, default=list(DEFAULT_IMAGES), help="default: examples/*.jpg")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    try:
        manifest = write_golden(args.model, args.images, args.out)
    except EyegradError as exc:
        print(f"golden: error: {exc}", file=sys.stderr)
        return 2
    for e in manifest["images"]:
        print(f"{e['image']}: output {e['output_raw']}, p_fake {e['p_fake']:.6f}; face {e['face_p_fake']:.6f} "
              f"({e['verdict']})")
    print(f"wrote {args.out}/{MANIFEST} for {manifest['model']} ({manifest['model_sha256'][:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
