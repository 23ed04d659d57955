"""Small custom layers (serializable, so pruning and QAT can clone the model)."""
from __future__ import annotations

from .tf import keras, tf


@keras.utils.register_keras_serializable(package="eyegrad")
class HorizontalMirror(keras.layers.Layer):
    """Flips a feature map left-right (the right eye lands on the left eye).

    A strided slice, not ``tf.reverse``: the TFLite int8 converter gives REVERSE_V2's output
    another scale and zero point than its input while the kernel copies the raw int8 values,
    which corrupted the mirrored features of every int8 export (STRIDED_SLICE keeps the scale).
    """

    def call(self, inputs):
        return inputs[:, :, ::-1, :]


@keras.utils.register_keras_serializable(package="eyegrad")
class AbsoluteDifference(keras.layers.Layer):
    """|a - b| of two tensors of the same shape."""

    def call(self, inputs):
        a, b = inputs
        return tf.abs(a - b)


CUSTOM_OBJECTS = {"HorizontalMirror": HorizontalMirror, "AbsoluteDifference": AbsoluteDifference}
