"""Scan a large collection of images and videos into a resumable JSON lines, CSV or Parquet results file."""
from __future__ import annotations

import argparse
import signal
import sys

from ..scan import scan
from ..scan.runner import DEFAULT_BATCH_SIZE
from ..scan.store import FORMATS
from .common import number


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", nargs="+", metavar="SOURCE", help="one or more of: a folder (searched recursively), "
                   "an image or video file, a text file of paths (one a line, relative to the file) or a glob "
                   "such as 'photos/**/*.jpg'")
    p.add_argument("--out", "-o", required=True, metavar="RESULTS",
                   help=f"results file by extension: {', '.join(FORMATS)} (Parquet: a folder of part files); "
                        "an existing one is resumed")
    p.add_argument("--workers", "-w", type=number(int, 1), default=None,
                   help="worker processes or Ray actors (default: the available cores; "
                        "on a Ray cluster, one per cluster CPU)")
    p.add_argument("--ray", metavar="ADDRESS", default=None,
                   help="scan on Ray Data: 'local' starts a local runtime, else a cluster address ('auto', "
                        "'ray://head:10001')")
    p.add_argument("--model", "-m", help="path to an eyegrad .tflite (default: the shipped model)")
    p.add_argument("--batch-size", "-b", type=number(int, 1), default=DEFAULT_BATCH_SIZE,
                   help="records per write (and per Ray batch): at most this many are redone after a kill "
                        f"(default {DEFAULT_BATCH_SIZE})")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _interrupt)  # a stopped job writes what it has, like Ctrl-C
    try:
        summary = scan(args.source, args.out, args.workers, args.ray, args.model, args.batch_size)
    except KeyboardInterrupt:
        print(f"eyegrad scan: stopped; the results so far are in {args.out}: "
              "run the same command again to resume", file=sys.stderr)
        raise
    print(summary.format())
    return 0
