"""Arguments and helpers shared by several subcommands.

A bad option value is refused in one way: the option's argparse ``type`` (``number``, or
``checked_by`` for a value its options dataclass checks) raises ``argparse.ArgumentTypeError``,
and the ``eyegrad`` parser says so in one line and exits with status 2.
"""
from __future__ import annotations

import argparse
import dataclasses
from typing import Any, Callable, TypeVar

from ..aggregation import AGGREGATIONS
from ..detector import Detector
from ..video import VideoOptions

_VIDEO_DEFAULTS = VideoOptions()
N = TypeVar("N", int, float)


def _parsed(kind: Callable[[str], Any], text: str) -> Any:
    """``kind(text)``, or an ArgumentTypeError that says what was expected."""
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {'a whole number' if kind is int else 'a number'}: {text}") from None


def number(kind: Callable[[str], N], low: N, above: bool = False) -> Callable[[str], N]:
    """An argparse type: ``kind`` (int or float) not below ``low`` (with ``above``: more than ``low``)."""
    def parse(text: str) -> N:
        value = _parsed(kind, text)
        if value < low or (above and value == low):
            raise argparse.ArgumentTypeError(f"must be {'above' if above else 'at least'} {low:g}: {text}")
        return value
    return parse


def share(text: str) -> float:
    """An argparse type: a share from 0 to 1."""
    value = _parsed(float, text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be a share from 0 to 1: {text}")
    return value


def checked_by(options: type, field: str, kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type: ``kind`` of the text, refused with the message of ``options`` (a dataclass
    that checks its values when made, as ``VideoOptions`` does) when its defaults with this
    ``field`` do not pass: each rule is written once, in the dataclass."""
    def parse(text: str) -> Any:
        value = _parsed(kind, text)
        try:
            dataclasses.replace(options(), **{field: value})
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value
    return parse


def add_model_args(p: argparse.ArgumentParser) -> None:
    """--model and --threads."""
    p.add_argument("--model", "-m", help="path to an eyegrad .tflite (default: the shipped model)")
    p.add_argument("--threads", type=number(int, 1), default=None, help="interpreter threads (default: LiteRT's choice)")


def add_video_args(p: argparse.ArgumentParser) -> None:
    """How video files are sampled and their frames combined (``VideoOptions``)."""
    g = p.add_argument_group("video files (.mp4, .avi, .mov, .mkv, .webm)")
    g.add_argument("--sample-fps", type=checked_by(VideoOptions, "sample_fps", float), default=_VIDEO_DEFAULTS.sample_fps,
                   help=f"frames scored per second of video (default {_VIDEO_DEFAULTS.sample_fps:g})")
    g.add_argument("--frames-per-video", type=checked_by(VideoOptions, "max_frames", int), default=_VIDEO_DEFAULTS.max_frames,
                   help=f"at most this many frames per video, spread over it (default {_VIDEO_DEFAULTS.max_frames})")
    g.add_argument("--aggregate", choices=tuple(AGGREGATIONS), default=_VIDEO_DEFAULTS.aggregation,
                   help=f"how a face's frame scores become one (default {_VIDEO_DEFAULTS.aggregation})")
    g.add_argument("--video-time-limit", type=checked_by(VideoOptions, "time_limit_s", float), default=_VIDEO_DEFAULTS.time_limit_s, metavar="SECONDS",
                   help=f"give up a video after this long (default {_VIDEO_DEFAULTS.time_limit_s:g})")


def video_options(args: argparse.Namespace) -> VideoOptions:
    """The ``VideoOptions`` of ``add_video_args``' arguments (each value checked when parsed)."""
    return dataclasses.replace(_VIDEO_DEFAULTS, sample_fps=args.sample_fps, max_frames=args.frames_per_video,
                               aggregation=args.aggregate, time_limit_s=args.video_time_limit)


def detector_for(args: argparse.Namespace) -> Detector:
    """The Detector that ``add_model_args`` and ``add_video_args``' arguments ask for."""
    return Detector(args.model, num_threads=args.threads, video=video_options(args))
