"""Magnitude pruning of the student's pointwise convolutions and dense layers (tfmot)."""
from __future__ import annotations

import gzip
from typing import Dict

import numpy as np
import tensorflow_model_optimization as tfmot

from eyegrad.train.tf import keras

sparsity_api = tfmot.sparsity.keras


def is_prunable(layer: keras.layers.Layer) -> bool:
    """1x1 convolutions and dense layers hold most weights; the stem and depthwise stay dense."""
    if isinstance(layer, keras.layers.Dense):
        return True
    return (isinstance(layer, keras.layers.Conv2D) and not isinstance(layer, keras.layers.DepthwiseConv2D)
            and tuple(layer.kernel_size) == (1, 1))


def prunable_copy(model: keras.Model, target_sparsity: float, end_step: int) -> keras.Model:
    """A copy of ``model`` whose prunable layers reach ``target_sparsity`` by ``end_step``
    on a polynomial-decay schedule."""
    end_step = max(1, end_step)
    schedule = sparsity_api.PolynomialDecay(initial_sparsity=0.0, final_sparsity=target_sparsity,
                                            begin_step=0, end_step=end_step, frequency=max(1, end_step // 20))

    def wrap(layer):
        return sparsity_api.prune_low_magnitude(layer, pruning_schedule=schedule) if is_prunable(layer) else layer

    return keras.models.clone_model(model, clone_function=wrap)  # wraps (shares) the original layers


def strip(model: keras.Model) -> keras.Model:
    return sparsity_api.strip_pruning(model)


def sparsity_of(model: keras.Model) -> Dict[str, float]:
    """Share of zero weights in the prunable layers and in the whole model."""
    zeros = total = zeros_all = total_all = 0
    for layer in model.layers:
        for w in layer.get_weights():
            z = int(np.sum(w == 0))
            zeros_all, total_all = zeros_all + z, total_all + w.size
            if is_prunable(layer) and w.ndim > 1:
                zeros, total = zeros + z, total + w.size
    return {"prunable": zeros / total if total else 0.0, "overall": zeros_all / total_all if total_all else 0.0}


def gzipped_size(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


UpdatePruningStep = sparsity_api.UpdatePruningStep
