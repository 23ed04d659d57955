"""Arguments and helpers shared by several subcommands."""
from __future__ import annotations

import argparse
import dataclasses

from ..aggregation import AGGREGATIONS
from ..detector import Detector
from ..errors import EyegradError
from ..video import VideoOptions

_VIDEO_DEFAULTS = VideoOptions()


def add_model_args(p: argparse.ArgumentParser) -> None:
    """--model and --threads."""
    p.add_argument("--model", "-m", help="path to an eyegrad .tflite (default: the shipped model)")
    p.add_argument("--threads", type=int, default=None, help="interpreter threads (default: LiteRT's choice)")


def add_video_args(p: argparse.ArgumentParser) -> None:
    """How video files are sampled and their frames combined (``VideoOptions``)."""
    g = p.add_argument_group("video files (.mp4, .avi, .mov, .mkv, .webm)")
    g.add_argument("--sample-fps", type=float, default=_VIDEO_DEFAULTS.sample_fps,
                   help=f"frames scored per second of video (default {_VIDEO_DEFAULTS.sample_fps:g})")
    g.add_argument("--frames-per-video", type=int, default=_VIDEO_DEFAULTS.max_frames,
                   help=f"at most this many frames per video, spread over it (default {_VIDEO_DEFAULTS.max_frames})")
    g.add_argument("--aggregate", choices=tuple(AGGREGATIONS), default=_VIDEO_DEFAULTS.aggregation,
                   help=f"how a face's frame scores become one (default {_VIDEO_DEFAULTS.aggregation})")
    g.add_argument("--video-time-limit", type=float, default=_VIDEO_DEFAULTS.time_limit_s, metavar="SECONDS",
                   help=f"give up a video after this long (default {_VIDEO_DEFAULTS.time_limit_s:g})")


def video_options(args: argparse.Namespace) -> VideoOptions:
    """The ``VideoOptions`` of ``add_video_args``' arguments."""
    try:
        return dataclasses.replace(_VIDEO_DEFAULTS, sample_fps=args.sample_fps, max_frames=args.frames_per_video,
                                   aggregation=args.aggregate, time_limit_s=args.video_time_limit)
    except ValueError as exc:
        raise EyegradError(str(exc)) from None


def detector_for(args: argparse.Namespace) -> Detector:
    """The Detector that ``add_model_args`` and ``add_video_args``' arguments ask for."""
    return Detector(args.model, num_threads=args.threads, video=video_options(args))
