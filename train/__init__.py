"""Training: labelled folders -> cached eye bands -> augmented student and teacher models.

TensorFlow is imported through :mod:`train.tf` only, which sets ``TF_USE_LEGACY_KERAS``.
"""
