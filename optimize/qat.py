"""Quantization-aware training copies (pruning-preserving when the model is sparse)."""
from __future__ import annotations

import tensorflow_model_optimization as tfmot

from eyegrad.train.layers import CUSTOM_OBJECTS
from eyegrad.train.tf import keras

qapi = tfmot.quantization.keras


def quantize_aware_copy(model: keras.Model, preserve_sparsity: bool = False) -> keras.Model:
    """``model`` with fake-quantization on every layer tfmot supports.

    The custom mirror layers carry no weights and are left to the converter, which
    calibrates them from the representative data.
    """
    def annotate(layer):
        if isinstance(layer, tuple(CUSTOM_OBJECTS.values())):
            return layer
        return qapi.quantize_annotate_layer(layer)

    annotated = keras.models.clone_model(model, clone_function=annotate)
    with qapi.quantize_scope(CUSTOM_OBJECTS):
        if preserve_sparsity:
            return qapi.quantize_apply(annotated, tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme())
        return qapi.quantize_apply(annotated)
