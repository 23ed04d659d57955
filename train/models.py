"""The student (small eye-band gradient CNN) and the teacher (wider, more context)."""
from __future__ import annotations

from functools import partial
from typing import Callable, Dict, List, Tuple

from eyegrad.runtime.features import BandGeometry

from .layers import AbsoluteDifference, EyeMirrorDifference, EyeShiftDifference, HorizontalMirror
from .tf import keras, tf

L = keras.layers


def _conv_bn(x, filters: int, kernel: int = 3, stride: int = 1, name: str = ""):
    x = L.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = L.BatchNormalization(name=f"{name}_bn")(x)
    return L.ReLU(name=f"{name}_relu")(x)


def _sep_bn(x, filters: int, name: str):
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = L.BatchNormalization(name=f"{name}_dwbn")(x)
    x = L.ReLU(name=f"{name}_dwrelu")(x)
    return _conv_bn(x, filters, 1, name=f"{name}_pw")


def _mirror_difference(x, name: str):
    """Concatenate features with |features - their left-right mirror|: the eyes compared."""
    mirrored = HorizontalMirror(name=f"{name}_mirror")(x)
    diff = AbsoluteDifference(name=f"{name}_absdiff")([x, mirrored])
    return L.Concatenate(name=f"{name}_concat")([x, diff])


def _pooled(x: tf.Tensor, prefix: str = "") -> List[tf.Tensor]:
    """Global average and global max of a feature map."""
    return [L.GlobalAveragePooling2D(name=f"{prefix}gap")(x), L.GlobalMaxPooling2D(name=f"{prefix}gmp")(x)]


def _eye_consistency_features(features: tf.Tensor, eye_shift: int, name: str) -> List[tf.Tensor]:
    """The two eyes compared at the band's own resolution, before any learned layer: the
    band's features against themselves moved by the eye spacing (highlights, iris texture) and
    against their mirror view (pupil outline, lids), each read by a small strided convolution and
    a separable block, then pooled. With the wider dense layer this feeds: +0.67M multiply-adds
    and +2,624 parameters on the periocular band."""
    comparisons = {"shift": EyeShiftDifference(eye_shift, name=f"{name}_shift_absdiff")(features),
                   "mirror": EyeMirrorDifference(name=f"{name}_mirror_absdiff")(features)}
    pooled = []
    for kind, diff in comparisons.items():
        x = _conv_bn(diff, 8, 3, 2, name=f"{name}_{kind}_stem")
        x = L.MaxPooling2D(2, name=f"{name}_{kind}_pool")(x)
        pooled += _pooled(_sep_bn(x, 16, f"{name}_{kind}_block"), f"{name}_{kind}_")
    return pooled


def eye_band_cnn(input_shape: Tuple[int, int, int], widths: Tuple[int, int, int, int, int],
                 dense: int, dropout: float, name: str, eye_shift: int = 0) -> keras.Model:
    """A gradient CNN over the eye band: strided stem, separable blocks, a mirror
    comparison of the two eyes, a last block at 1/16 resolution, global pooling and a
    sigmoid p_fake. ``widths``: stem, block1 .. block4 channels. With ``eye_shift`` (the eye
    spacing in band pixels), the pooled features also get ``_eye_consistency_features``."""
    inp = keras.Input(shape=input_shape, name="eye_band")
    x = _conv_bn(inp, widths[0], 3, 2, name="stem")
    x = _sep_bn(x, widths[1], "block1")
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = _sep_bn(x, widths[2], "block2")
    x = L.MaxPooling2D(2, name="pool2")(x)
    x = _mirror_difference(x, "sym")
    x = _sep_bn(x, widths[3], "block3")
    # capacity where it is cheap: at 3x8 a block costs a tenth of the multiply-adds it would
    # at the resolution above (8 epochs from scratch: MesoNet AUC 0.907 -> 0.922)
    x = L.MaxPooling2D(2, name="pool3")(x)
    x = _sep_bn(x, widths[4], "block4")
    pooled = _pooled(x)
    if eye_shift:
        pooled += _eye_consistency_features(inp, eye_shift, "eyes")
    x = L.Concatenate(name="pool_concat")(pooled)
    x = L.Dropout(dropout, name="drop1")(x)
    x = L.Dense(dense, activation="relu", name="fc")(x)
    x = L.Dropout(dropout, name="drop2")(x)
    out = L.Dense(1, activation="sigmoid", name="p_fake")(x)
    return keras.Model(inp, out, name=name)


def build_student(input_shape: Tuple[int, int, int], eye_shift: int = 0) -> keras.Model:
    """The shipped model: <= 50k parameters, 4.1M multiply-adds on the eye band (6.2M on the
    periocular band), and its int8 .tflite with metadata <= 256 KiB (per-channel scales and zero
    points cost 28 bytes per channel there). ``eye_shift``: see ``eye_band_cnn`` (+0.67M
    multiply-adds)."""
    return eye_band_cnn(input_shape, (16, 32, 64, 96, 96), 24, 0.1, "student", eye_shift)


def eye_spacing_px(band: BandGeometry) -> int:
    """The distance between the eye centres in ``band``, in band pixels."""
    return round(band.eye_spacing * band.width)


def student_builder(band: BandGeometry, eye_consistency: bool) -> Callable[[Tuple[int, int, int]], keras.Model]:
    """``build_student`` for ``band``, with ``_eye_consistency_features`` when ``eye_consistency``.
    Their shift is the eye spacing at zoom 1: a view cut at another zoom would not lay one eye
    on the other."""
    if not eye_consistency:
        return build_student
    return partial(build_student, eye_shift=eye_spacing_px(band))


def build_teacher(input_shape: Tuple[int, int, int]) -> keras.Model:
    """The distillation teacher: the student's layers with a wider last block (128) and dense
    layer (32), run on a band with more context. Every layer is a convolution or comes after
    global pooling, so it can warm-start from any student of these widths (``--teacher-init``).
    It stays this narrow because a teacher helps only once it scores above the student: a wider
    one (24, 48, 96, 160, 192) trained so slowly on a CPU that it had not caught up when stopped."""
    return eye_band_cnn(input_shape, (16, 32, 64, 96, 128), 32, 0.1, "teacher")


def count_macs(model: keras.Model) -> int:
    """Multiply-adds of one forward pass (convolutions and dense layers)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, (L.Conv2D, L.DepthwiseConv2D, L.Dense)):
            out_shape = layer.output_shape
            spatial = 1
            for d in out_shape[1:-1]:
                spatial *= int(d)
            kernel = layer.get_weights()[0]
            if isinstance(layer, L.DepthwiseConv2D):
                kh, kw, cin, mult = kernel.shape
                total += spatial * kh * kw * cin * mult
            else:
                total += spatial * int(kernel.size)
    return total


def model_size(model: keras.Model) -> Dict[str, int]:
    """Parameters and multiply-adds."""
    return {"params": int(model.count_params()), "macs": count_macs(model)}
