"""The shipped eyegrad model (``eyegrad.tflite``) and its model card, read with importlib.resources."""
