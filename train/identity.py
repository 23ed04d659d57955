"""Who a face is: dlib's 128-d face descriptors, cached by file bytes, and the identity clusters they form.

Frames of one video show one person in one scene; their descriptors lie close together where
whole-frame thumbnails of aligned face crops do not (``../shared/data/README.md``, "Finding the
videos in ``mesonet_df``"). Needs the ``train`` extra (``dlib-bin``, ``face-recognition-models``:
the model files ship in the wheel, nothing is downloaded); the runtime never imports this.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence, Tuple

import numpy as np

from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.progress import Progress

from .cache import DEFAULT_CACHE, file_digest

#: Version of the cached descriptors (face box, landmarks, model); bump it when they change.
DESCRIPTOR_VERSION = "dlib-v1"
#: Average-linkage clusters cut at this euclidean distance hold 62% (reals) / 90% (fakes) of a
#: MesoNet video's frames in one cluster (dlib's own rule of thumb for one person: 0.6).
LINK_DISTANCE = 0.55
#: Where dlib's detector finds no face, the face box is this share of the image's shorter side,
#: centred (the detector's boxes on these aligned crops: median 0.73 of the width, centred).
CENTRED_BOX = 0.75


def _models() -> Tuple[Any, Any, Any]:
    """dlib's face detector, 5-point shape predictor and face descriptor network."""
    try:
        import dlib
        import face_recognition_models as files
    except ImportError as e:
        raise EyegradError("face-identity groups need dlib-bin and face-recognition-models: "
                           "pip install 'eyegrad[train]'") from e
    return (dlib.get_frontal_face_detector(), dlib.shape_predictor(files.pose_predictor_five_point_model_location()),
            dlib.face_recognition_model_v1(files.face_recognition_model_location()))


def describe(path: Path, models: Tuple[Any, Any, Any]) -> Optional[np.ndarray]:
    """The 128-d descriptor of the largest face dlib finds in the image (else of a centred box), or None."""
    import dlib
    detector, shape, network = models
    try:
        image = dlib.load_rgb_image(str(path))
    except RuntimeError:
        return None
    faces = sorted(detector(image, 0), key=lambda r: r.area())
    if faces:
        box = faces[-1]
    else:
        h, w = image.shape[:2]
        half = CENTRED_BOX * min(h, w) / 2
        box = dlib.rectangle(int(w / 2 - half), int(h / 2 - half), int(w / 2 + half), int(h / 2 + half))
    return np.asarray(network.compute_face_descriptor(image, shape(image, box)), np.float32)


def descriptors(paths: Sequence[Path], cache_root: Path = DEFAULT_CACHE) -> np.ndarray:
    """N x 128 descriptors of the files (a row of NaN where none), cached under
    ``cache_root``/identity/``DESCRIPTOR_VERSION`` by the sha256 of each file's bytes."""
    folder = Path(cache_root) / "identity" / DESCRIPTOR_VERSION
    folder.mkdir(parents=True, exist_ok=True)
    out = np.full((len(paths), 128), np.nan, np.float32)
    todo = []
    for i, path in enumerate(paths):
        cached = folder / f"{file_digest(path)}.npy"
        try:
            out[i] = np.load(cached)
        except (OSError, ValueError, EOFError):
            todo.append((i, cached))
    if todo:
        models = _models()
        bar = Progress(len(todo), "face descriptors")
        for i, cached in todo:
            v = describe(paths[i], models)
            if v is not None:
                out[i] = v
            tmp = cached.with_suffix(".tmp.npy")
            np.save(tmp, out[i])
            tmp.replace(cached)
            bar.update()
        bar.close()
    return out


def clusters(vectors: np.ndarray, distance: float = LINK_DISTANCE) -> np.ndarray:
    """Average-linkage cluster number of each row, cut at euclidean ``distance`` (rows of NaN: -1)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    out = np.full(len(vectors), -1, int)
    ok = ~np.isnan(vectors).any(axis=1)
    if ok.sum() == 1:
        out[ok] = 0
    elif ok.sum() > 1:
        out[ok] = fcluster(linkage(vectors[ok].astype(np.float64), "average"), distance, "distance")
    return out
