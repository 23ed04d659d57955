"""Progress messages of the long commands (``eyegrad train``, ``eyegrad optimize``).

Modules log to ``logging.getLogger(__name__)``; a command shows them by calling
``show_progress()`` once. Only eyegrad's loggers are shown: other libraries (TensorFlow,
matplotlib) keep their own levels, so their INFO chatter stays hidden.
"""
from __future__ import annotations

import logging
import sys
from typing import TextIO

ROOT = "eyegrad"


class StdoutHandler(logging.StreamHandler):
    """Bare messages on whatever ``sys.stdout`` is when a record is written (like logging's
    last-resort handler for stderr), so the lines stay in order with Keras' epoch lines and a
    replaced ``sys.stdout`` (tests, redirections) is followed."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    @property
    def stream(self) -> TextIO:
        return sys.stdout

    @stream.setter
    def stream(self, _value: TextIO) -> None:  # set by StreamHandler.__init__; sys.stdout is read instead
        pass


def show_progress(level: int = logging.INFO) -> None:
    """Show eyegrad's log messages from ``level`` up on stdout (once, however often it is called)."""
    logger = logging.getLogger(ROOT)
    logger.setLevel(level)
    if not any(isinstance(h, StdoutHandler) for h in logger.handlers):
        logger.addHandler(StdoutHandler())
