"""Small custom layers (serializable, so pruning and QAT can clone the model)."""
from __future__ import annotations

from typing import Sequence

from eyegrad.runtime.features import MIRROR_NEGATED_CHANNEL

from .tf import keras, tf


@keras.utils.register_keras_serializable(package="eyegrad")
class HorizontalMirror(keras.layers.Layer):
    """Flips a feature map left-right (the right eye lands on the left eye).

    A strided slice, not ``tf.reverse``: the TFLite int8 converter gives REVERSE_V2's output
    another scale and zero point than its input while the kernel copies the raw int8 values,
    which corrupted the mirrored features of every int8 export (STRIDED_SLICE keeps the scale).
    """

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return inputs[:, :, ::-1, :]


@keras.utils.register_keras_serializable(package="eyegrad")
class AbsoluteDifference(keras.layers.Layer):
    """|a - b| of two tensors of the same shape."""

    def call(self, inputs: Sequence[tf.Tensor]) -> tf.Tensor:
        a, b = inputs
        return tf.abs(a - b)


@keras.utils.register_keras_serializable(package="eyegrad")
class EyeShiftDifference(keras.layers.Layer):
    """|band - the band moved left by the eye spacing|: each point of the left eye meets the
    same point of the right eye, unmirrored. One light puts its corneal highlight on the same
    side of both pupils, and the two irises have the same texture, so a real face gives a
    small difference where the eyes are. Output width: band width - ``shift``."""

    def __init__(self, shift: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.shift = int(shift)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return tf.abs(inputs[:, :, :-self.shift, :] - inputs[:, :, self.shift:, :])

    def get_config(self) -> dict:
        return {**super().get_config(), "shift": self.shift}


@keras.utils.register_keras_serializable(package="eyegrad")
class EyeMirrorDifference(keras.layers.Layer):
    """|band - its mirror view| on the left half, the mirror view being the runtime's
    (``features.mirror_features``: flipped, the x gradient negated): each eye meets the mirror
    image of the other (pupil outline, lids, iris edge). The flip is a strided slice, as in
    ``HorizontalMirror``."""

    def build(self, input_shape: tf.TensorShape) -> None:
        """The band's half width and the channel signs, from the model's input shape."""
        self.half = int(input_shape[2]) // 2
        self.signs = tf.constant([-1.0 if c == MIRROR_NEGATED_CHANNEL else 1.0 for c in range(int(input_shape[-1]))])
        super().build(input_shape)

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        mirrored = inputs[:, :, ::-1, :][:, :, :self.half, :] * self.signs
        return tf.abs(inputs[:, :, :self.half, :] - mirrored)


CUSTOM_OBJECTS = {layer.__name__: layer for layer in (HorizontalMirror, AbsoluteDifference, EyeShiftDifference,
                                                      EyeMirrorDifference)}
