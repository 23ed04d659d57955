"""Quantization-aware training copies (pruning-preserving when the model is sparse)."""
from __future__ import annotations

from typing import Dict, List

import tensorflow_model_optimization as tfmot

from eyegrad.train.layers import CUSTOM_OBJECTS
from eyegrad.train.tf import keras

qapi = tfmot.quantization.keras


class PassThroughQuantizeConfig(qapi.QuantizeConfig):
    """No fake quantization: for the weightless custom layers (mirrors and differences), whose
    int8 scales the converter calibrates from the representative data. Annotating them with it
    keeps tfmot from asking its registry for a config it does not have (the pruning-preserving
    scheme does for a custom layer that feeds a convolution)."""

    def get_weights_and_quantizers(self, layer: keras.layers.Layer) -> List:
        """None: the layer has no weights."""
        return []

    def get_activations_and_quantizers(self, layer: keras.layers.Layer) -> List:
        """None: the layer has no activation."""
        return []

    def set_quantize_weights(self, layer: keras.layers.Layer, quantize_weights: List) -> None:
        """Nothing to set."""

    def set_quantize_activations(self, layer: keras.layers.Layer, quantize_activations: List) -> None:
        """Nothing to set."""

    def get_output_quantizers(self, layer: keras.layers.Layer) -> List:
        """None: the converter calibrates the output."""
        return []

    def get_config(self) -> Dict:
        """No settings."""
        return {}


def quantize_aware_copy(model: keras.Model, preserve_sparsity: bool = False) -> keras.Model:
    """``model`` with fake-quantization on every layer tfmot supports; the custom layers pass through
    (``PassThroughQuantizeConfig``)."""
    def annotate(layer):
        if isinstance(layer, tuple(CUSTOM_OBJECTS.values())):
            return qapi.quantize_annotate_layer(layer, quantize_config=PassThroughQuantizeConfig())
        return qapi.quantize_annotate_layer(layer)

    annotated = keras.models.clone_model(model, clone_function=annotate)
    with qapi.quantize_scope({**CUSTOM_OBJECTS, "PassThroughQuantizeConfig": PassThroughQuantizeConfig}):
        if preserve_sparsity:
            return qapi.quantize_apply(annotated, tfmot.experimental.combine.Default8BitPrunePreserveQuantizeScheme())
        return qapi.quantize_apply(annotated)
