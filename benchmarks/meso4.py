"""The peer model: Meso-4 (Afchar et al., "MesoNet", WIFS 2018) with its published weights.

The architecture is rebuilt with ``tf_keras`` layer by layer as in MesoNet's
``classifiers.py`` and the weights-only Keras 2 file ``Meso4_DF.h5`` is loaded into it.
Input: the whole image as 256 x 256 RGB in [0, 1], nearest-neighbour resize (as
MesoNet's ``ImageDataGenerator``). Output: sigmoid where 1 = real, so p_fake = 1 - y.
The int8 .tflite is plain post-training quantization with real images as
representative data (``optimize.export.convert``).
"""
from __future__ import annotations

import importlib.util
import io
import os
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
from PIL import Image, ImageOps

from eyegrad.runtime.decode import read_bytes
from eyegrad.runtime.errors import InputError
from eyegrad.runtime.interpreter import TfliteModel

from .images import SHARED_DATA

#: MesoNet's Deepfake-trained Meso-4 weights (Apache-2.0).
DEFAULT_WEIGHTS = SHARED_DATA / "mesonet_weights" / "Meso4_DF.h5"
INPUT_SIDE = 256
HOW_TO_GET = ("Meso-4 weights not found at {path}: get Meso4_DF.h5 from github.com/DariusAf/MesoNet "
              "(weights/Meso4_DF.h5, Apache-2.0) and pass --meso4-weights PATH "
              "(or put it in ../shared/data/mesonet_weights/)")
NO_TENSORFLOW = ("TensorFlow is not installed: `pip install -e .[train]` for the Keras Meso-4 rows, "
                 "or pass --meso4-tflite with a Meso-4 int8 .tflite converted elsewhere")


def meso4_input(source: Union[str, os.PathLike, bytes]) -> np.ndarray:
    """A 256 x 256 x 3 float32 RGB array in [0, 1] (nearest-neighbour resize), or InputError."""
    data = source if isinstance(source, bytes) else read_bytes(source)
    try:
        img = Image.open(io.BytesIO(data))
        img = (ImageOps.exif_transpose(img) or img).convert("RGB")
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"cannot decode image for Meso-4: {exc}") from None
    img = img.resize((INPUT_SIDE, INPUT_SIDE), Image.NEAREST)
    return np.asarray(img, dtype=np.float32) * (1.0 / 255.0)


def tflite_p_fake(model: TfliteModel, source: Union[str, os.PathLike, bytes]) -> float:
    """p_fake of one image from a Meso-4 .tflite, run as the runtime runs eyegrad models (1 - 'real')."""
    return 1.0 - float(model.predict(meso4_input(source)).reshape(-1)[0])


def missing(weights: Path) -> Optional[str]:
    """Why the Keras Meso-4 cannot be built here, or None when it can."""
    if not Path(weights).is_file():
        return HOW_TO_GET.format(path=weights)
    if any(importlib.util.find_spec(name) is None for name in ("tensorflow", "tf_keras")):
        return NO_TENSORFLOW
    return None


def limit_tf_threads(n: int) -> bool:
    """Run TensorFlow ops on ``n`` threads; False when TensorFlow was already initialised."""
    from eyegrad.train.tf import tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(n)
        return True
    except RuntimeError:
        return False


def build_meso4():
    """Meso-4 with untrained weights (27,977 trainable parameters)."""
    from eyegrad.train.tf import keras
    L = keras.layers
    x = inp = keras.Input(shape=(INPUT_SIDE, INPUT_SIDE, 3))
    for filters, kernel, pool in ((8, 3, 2), (8, 5, 2), (16, 5, 2), (16, 5, 4)):
        x = L.Conv2D(filters, (kernel, kernel), padding="same", activation="relu")(x)
        x = L.BatchNormalization()(x)
        x = L.MaxPooling2D(pool_size=(pool, pool), padding="same")(x)
    y = L.Flatten()(x)
    y = L.Dropout(0.5)(y)
    y = L.Dense(16)(y)
    y = L.LeakyReLU(alpha=0.1)(y)
    y = L.Dropout(0.5)(y)
    y = L.Dense(1, activation="sigmoid")(y)
    return keras.Model(inputs=inp, outputs=y, name="meso4")


def load_meso4(weights: Path = DEFAULT_WEIGHTS):
    """Meso-4 with MesoNet's published weights (weights-only Keras 2 HDF5)."""
    model = build_meso4()
    model.load_weights(str(weights))
    return model


def keras_call(model):
    """A compiled single-image call, for latency: ``fn(x)`` -> output as numpy."""
    from eyegrad.train.tf import tf
    fn = tf.function(lambda t: model(t, training=False))
    return lambda x: fn(tf.constant(x[None])).numpy()


def to_int8(model, representative: Sequence[np.ndarray]) -> bytes:
    """Full-integer int8 .tflite (int8 in and out) by post-training quantization."""
    from eyegrad.optimize.export import convert
    return convert(model, "int8", np.stack(representative).astype(np.float32))
