"""Does a multi-scale (MesoInception-style) first block help the student on unseen sources?

The student's first separable block (one 3x3 depthwise convolution on the stem's 16 channels)
becomes three depthwise branches with dilation 1, 2 and 3, each with its own batch norm and
ReLU, summed before the block's pointwise convolution, so that the pointwise layer stays as it
was (the two extra branches add 11% multiply-adds). The branches see the eye's texture at three
scales. Every other layer is the shipped student's.

Runs ``eyegrad train`` with that student, e.g. the leave-one-source-out table::

    python research/multiscale_probe.py train --loso-only --data <roots> --limit 1000 \\
        --loso-epochs 6 --augment light-sharpen --sbi-rate 0.25 --out runs/loso-multiscale

``python research/multiscale_probe.py --size`` prints parameters, multiply-adds and
the int8 .tflite bytes (no metadata) of both students.
"""
from __future__ import annotations

import sys

import numpy as np

from eyegrad.train import models
from eyegrad.train.tf import keras

L = keras.layers
DILATIONS = (1, 2, 3)
MULTISCALE_BLOCKS = {"block1"}
_plain_separable = models._sep_bn


def multiscale_separable(x, filters: int, name: str):
    """Depthwise 3x3 branches at ``DILATIONS``, each normalised and rectified, summed, then
    the pointwise convolution of a plain separable block."""
    branches = []
    for d in DILATIONS:
        b = L.DepthwiseConv2D(3, padding="same", dilation_rate=d, use_bias=False, name=f"{name}_dw{d}")(x)
        b = L.BatchNormalization(name=f"{name}_dwbn{d}")(b)
        branches.append(L.ReLU(name=f"{name}_dwrelu{d}")(b))
    return models._conv_bn(L.Add(name=f"{name}_sum")(branches), filters, 1, name=f"{name}_pw")


def separable_block(x, filters: int, name: str):
    """The student's separable block, multi-scale where ``name`` is in ``MULTISCALE_BLOCKS``."""
    if name in MULTISCALE_BLOCKS:
        return multiscale_separable(x, filters, name)
    return _plain_separable(x, filters, name)


def print_sizes() -> None:
    """Parameters, multiply-adds and int8 bytes of the plain and the multi-scale student."""
    from eyegrad.optimize.export import convert

    shape = (48, 128, 3)
    representative = np.random.default_rng(0).normal(0, 2, (8,) + shape).astype("float32")
    for label, block in (("plain", _plain_separable), ("multi-scale", separable_block)):
        models._sep_bn = block
        student = models.build_student(shape)
        print(label, models.model_size(student), "int8 bytes", len(convert(student, "int8", representative)))


if __name__ == "__main__":
    if sys.argv[1:] == ["--size"]:
        print_sizes()
        sys.exit(0)
    models._sep_bn = separable_block
    from eyegrad.cli import main

    sys.exit(main(sys.argv[1:]))
