"""Small custom layers (serializable, so pruning and QAT can clone the model)."""
from __future__ import annotations

from .tf import keras, tf


@keras.utils.register_keras_serializable(package="eyegrad")
class HorizontalMirror(keras.layers.Layer):
    """Flips a feature map left-right (the right eye lands on the left eye)."""

    def call(self, inputs):
        return tf.reverse(inputs, axis=[2])


@keras.utils.register_keras_serializable(package="eyegrad")
class AbsoluteDifference(keras.layers.Layer):
    """|a - b| of two tensors of the same shape."""

    def call(self, inputs):
        a, b = inputs
        return tf.abs(a - b)


CUSTOM_OBJECTS = {"HorizontalMirror": HorizontalMirror, "AbsoluteDifference": AbsoluteDifference}
