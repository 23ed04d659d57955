"""The native libraries' own lines on stderr, hidden unless verbose (``eyegrad --verbose``).

TFLite's "INFO: Created TensorFlow Lite XNNPACK delegate", OpenCV's ``[ WARN:...]`` and
FFmpeg's "moov atom not found" come from C code writing to file descriptor 2, out of reach of
Python's logging: OpenCV takes a log level, FFmpeg an environment variable that OpenCV reads
when it first opens a video, and TFLite's line is caught on fd 2 while an interpreter is made.
Verbose is the environment variable $EYEGRAD_VERBOSE, so worker processes inherit it; a level
the user set ($OPENCV_LOG_LEVEL, $OPENCV_FFMPEG_LOGLEVEL) is left as it is.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Iterator

import cv2

VERBOSE_ENV = "EYEGRAD_VERBOSE"
OPENCV_LEVEL_ENV = "OPENCV_LOG_LEVEL"
FFMPEG_LEVEL_ENV = "OPENCV_FFMPEG_LOGLEVEL"
#: FFmpeg's AV_LOG_QUIET.
FFMPEG_QUIET = "-8"
#: The severity prefix of TFLite's informational lines.
TFLITE_INFO = b"INFO: "
_fd2_lock = threading.Lock()


def verbose() -> bool:
    """Whether the libraries' lines are shown ($EYEGRAD_VERBOSE set and not 0)."""
    return os.environ.get(VERBOSE_ENV, "") not in ("", "0")


def apply_log_levels() -> None:
    """Set OpenCV's and FFmpeg's log levels as ``verbose()`` says (FFmpeg's for the videos opened after)."""
    loud = verbose()
    if loud and os.environ.get(FFMPEG_LEVEL_ENV) == FFMPEG_QUIET:
        del os.environ[FFMPEG_LEVEL_ENV]
    elif not loud:
        os.environ.setdefault(FFMPEG_LEVEL_ENV, FFMPEG_QUIET)
    if OPENCV_LEVEL_ENV not in os.environ:
        logging = cv2.utils.logging
        logging.setLogLevel(logging.LOG_LEVEL_WARNING if loud else logging.LOG_LEVEL_ERROR)


def set_verbose() -> None:
    """Show the libraries' lines from now on, in this process and the processes it starts."""
    os.environ[VERBOSE_ENV] = "1"
    apply_log_levels()


@contextmanager
def tflite_info_hidden() -> Iterator[None]:
    """Run the block with fd 2 caught, then write back all it caught but TFLite's ``INFO:`` lines
    (unless verbose). One block at a time: the lines other threads write meanwhile are kept."""
    if verbose():
        yield
        return
    with _fd2_lock, tempfile.TemporaryFile() as caught:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = [line for line in caught.read().splitlines(keepends=True) if not line.startswith(TFLITE_INFO)]
            if kept:
                os.write(2, b"".join(kept))
