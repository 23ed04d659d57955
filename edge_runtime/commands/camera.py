"""Check the faces a camera, a video or a folder of images shows, frame by frame.

The default source is the Pi camera where picamera2 is installed, else the first webcam.
A video file or a folder prints one line per frame on stdout; a camera, a status line.
Exit codes: 0 when the stream ended or was stopped (limit, Ctrl-C, SIGTERM), 2 for a
source that cannot be used (missing file, picamera2 not installed), 3 when a live camera
cannot be opened (said at once) or was lost and did not come back after the retries.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable, Tuple

from ..camera import CameraLoop, LoopOptions, open_source, stop_on_signals
from ..camera.sources import PICAMERA_MAIN_SIZE, default_source
from ..detector import Detector
from .common import add_model_args, checked_by

#: Exit code when the camera is lost for good.
EXIT_SOURCE_LOST = 3
#: The loop's defaults: the options below show and use these.
_LOOP = LoopOptions()


def _loop_option(field: str, kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """The argparse type of one of ``LoopOptions``' numbers: refused as ``LoopOptions`` refuses it."""
    return checked_by(LoopOptions, field, kind)


def _size(text: str) -> Tuple[int, int]:
    """WxH, both even and at least 64."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH, e.g. 1280x960: {text}") from None
    if w < 64 or h < 64 or w % 2 or h % 2:
        raise argparse.ArgumentTypeError(f"width and height must be even and at least 64: {text}")
    return w, h


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", "-s", default=None,
                   help="picamera2[:N], a webcam index (0), an rtsp:// or http:// URL, a video file or a folder "
                        "of images (default: picamera2 where it is installed, else webcam 0)")
    p.add_argument("--realtime", action="store_true",
                   help="read a video file at its own frame rate (default: as fast as it decodes)")
    p.add_argument("--size", type=_size, default=PICAMERA_MAIN_SIZE, metavar="WxH",
                   help="picamera2 main stream size (default %dx%d); faces are searched in a 320-wide copy" % PICAMERA_MAIN_SIZE)
    add_model_args(p)
    p.add_argument("--json", action="store_true",
                   help="one JSON object per frame (the detect result of docs/api.md + frame, tracks, fps, smoothed)")
    p.add_argument("--detect-every", type=_loop_option("detect_every", int), default=_LOOP.detect_every,
                   metavar="N",
                   help=f"search faces every Nth frame, re-score the same boxes in between (default {_LOOP.detect_every})")
    p.add_argument("--window", type=_loop_option("window", int), default=_LOOP.window, metavar="N",
                   help=f"smooth each face's p_fake over its last N frames (default {_LOOP.window})")
    p.add_argument("--save-dir", type=Path, metavar="DIR",
                   help="save frames judged fake or uncertain here, with boxes and scores drawn")
    p.add_argument("--save-interval", type=_loop_option("save_interval", float), default=_LOOP.save_interval,
                   metavar="S",
                   help=f"at most one saved frame every S seconds (default {_LOOP.save_interval:g}; 0 saves every "
                        "such frame)")
    p.add_argument("--max-frames", type=_loop_option("max_frames", int), metavar="N", help="stop after N frames")
    p.add_argument("--duration", type=_loop_option("duration", float), metavar="S", help="stop after S seconds")
    p.add_argument("--retries", type=_loop_option("retries", int), default=_LOOP.retries, metavar="N",
                   help=f"reconnect a lost camera up to N times in a row before giving up (default {_LOOP.retries})")
    p.add_argument("--backoff", type=_loop_option("backoff", float), default=_LOOP.backoff, metavar="S",
                   help=f"first wait before a reconnect, doubled each time up to {_LOOP.max_backoff:g} s "
                        f"(default {_LOOP.backoff:g})")


def run(args: argparse.Namespace) -> int:
    source = open_source(args.source or default_source(), args.size)
    if not source.live and source.continuous:
        pace = "at its own frame rate" if args.realtime else "as fast as it decodes (--realtime: at its frame rate)"
        print(f"camera: reading {source.label} {pace}", file=sys.stderr, flush=True)
    options = LoopOptions(detect_every=args.detect_every, window=args.window, json=args.json, realtime=args.realtime,
                          save_dir=args.save_dir, save_interval=args.save_interval, max_frames=args.max_frames,
                          duration=args.duration, retries=args.retries, backoff=args.backoff)
    loop = CameraLoop(source, Detector(args.model, num_threads=args.threads), options)
    with stop_on_signals(loop):
        summary = loop.run()
    if summary.frames or not summary.lost:
        print(summary.text(args.save_dir), file=sys.stderr, flush=True)
    if summary.lost:
        print(f"eyegrad: error: camera unavailable: {summary.lost}", file=sys.stderr, flush=True)
        return EXIT_SOURCE_LOST
    return 0
