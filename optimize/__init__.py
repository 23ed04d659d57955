"""Optimization: distill, prune, quantize and export one .tflite with embedded metadata."""
