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


@keras.utils.register_keras_serializable(package="eyegrad")
class EyeShiftDifference(keras.layers.Layer):
    """|band - the band moved left by the eye spacing|: each point of the left eye meets the
    same point of the right eye, unmirrored. One light puts its corneal highlight on the same
    side of both pupils, and the two irises have the same texture, so a real face gives a
    small difference where the eyes are. Output width: band width - ``shift``."""

    def __init__(self, shift: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.shift = int(shift)

    def call(self, inputs):
        return tf.abs(inputs[:, :, :-self.shift, :] - inputs[:, :, self.shift:, :])

    def get_config(self) -> dict:
        return {**super().get_config(), "shift": self.shift}


@keras.utils.register_keras_serializable(package="eyegrad")
class EyeMirrorDifference(keras.layers.Layer):
    """|band - its left-right mirror| on the left half: each eye meets the mirror image of the
    other (pupil outline, lids, iris edge). The mirror turns the sign of the horizontal
    gradient, so channel ``sign_flip_channel`` is negated in the mirrored copy. The mirror is a
    strided slice, as in ``HorizontalMirror``."""

    def __init__(self, sign_flip_channel: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sign_flip_channel = int(sign_flip_channel)

    def build(self, input_shape) -> None:
        """The band's half width and the channel signs, from the model's input shape."""
        self.half = int(input_shape[2]) // 2
        self.signs = tf.constant([-1.0 if c == self.sign_flip_channel else 1.0 for c in range(int(input_shape[-1]))])
        super().build(input_shape)

    def call(self, inputs):
        mirrored = inputs[:, :, ::-1, :][:, :, :self.half, :] * self.signs
        return tf.abs(inputs[:, :, :self.half, :] - mirrored)

    def get_config(self) -> dict:
        return {**super().get_config(), "sign_flip_channel": self.sign_flip_channel}


CUSTOM_OBJECTS = {layer.__name__: layer for layer in (HorizontalMirror, AbsoluteDifference, EyeShiftDifference,
                                                      EyeMirrorDifference)}
