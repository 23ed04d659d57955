"""The errors the runtime raises: ``EyegradError`` for any of them, ``InputError`` for bad input,
``ModelError`` for a model (or a model file the runtime needs) that cannot be used."""


class EyegradError(Exception):
    """A problem with an input or a model, described in one line for the user."""


class InputError(EyegradError):
    """The input is not a usable image (unreadable, empty, truncated, too large...)."""


class ModelError(EyegradError):
    """The model file cannot be used (not a .tflite, no metadata, unknown feature version...)."""
