"""The ``eyegrad`` command line: one subcommand per module, loaded on demand."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

from .errors import EyegradError

#: subcommand -> (module that defines ``configure(parser)`` and ``run(args) -> int``, help)
COMMANDS = {
    "detect": ("edge_runtime.commands.detect", "classify images or folders of images"),
    "evaluate": ("edge_runtime.commands.evaluate", "metrics on a folder with real/ and fake/"),
    "info": ("edge_runtime.commands.info", "print a model's embedded metadata"),
    "scan": ("edge_runtime.commands.scan", "scan a large collection into a results file"),
    "camera": ("edge_runtime.commands.camera", "check faces from a camera, video or image folder"),
    "serve": ("edge_runtime.commands.serve", "web page and JSON API"),
    "train": ("train.cli", "train student and teacher models on labelled folders"),
    "optimize": ("optimize.cli", "distill, prune, quantize and export the .tflite"),
    "bench": ("benchmarks.cli", "accuracy and latency of every model variant and Meso-4"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eyegrad", description="Tell real faces from deepfakes by their eyes.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module, help_text) in COMMANDS.items():
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue  # subcommand not installed in this build
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip().splitlines()[0])
        mod.configure(p)
        p.set_defaults(handler=mod.run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except EyegradError as exc:
        print(f"eyegrad: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("eyegrad: interrupted", file=sys.stderr)
        return 130
