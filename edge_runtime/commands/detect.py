"""Classify images or folders of images as real, fake or uncertain."""
from __future__ import annotations

import argparse
import json

from ..detector import Detector
from ..results import DetectResult
from .common import add_model_args, expand_inputs


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    add_model_args(p)
    p.add_argument("--json", action="store_true", help="one JSON object per line (DESIGN.md detect result)")


def table_row(r: DetectResult) -> str:
    """One readable line of the results table."""
    p = "-" if r.p_fake is None else f"{r.p_fake:.3f}"
    eyes = ",".join(f.face.eyes_from for f in r.faces) or "-"
    detail = r.error or f"{len(r.faces)} face(s), eyes: {eyes}"
    return f"{r.verdict:<9} {p:>6} {r.timing_ms.get('total', 0.0):7.1f}  {r.path}  ({detail})"


def run(args: argparse.Namespace) -> int:
    detector = Detector(args.model, num_threads=args.threads)
    any_error = False
    if not args.json:
        print(f"{'verdict':<9} {'p_fake':>6} {'ms':>7}  path")
    for path in expand_inputs(args.paths):
        result = detector.detect(path)
        any_error |= result.verdict == "error"
        print(json.dumps(result.to_dict()) if args.json else table_row(result), flush=True)
    return 1 if any_error else 0


