"""Classify images or folders of images as real, fake or uncertain."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict

from ..datasets import expand_inputs
from ..detector import Detector
from ..explain import write_explanations
from ..results import DetectResult, Verdict
from .common import add_model_args


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    add_model_args(p)
    p.add_argument("--json", action="store_true", help="one JSON object per line (the detect result of docs/api.md)")
    p.add_argument("--explain", metavar="DIR", help="write each face's eye crops, gradient maps and "
                   "occlusion heatmap here as <name>_face<i>_<image>.png")


def table_row(r: DetectResult) -> str:
    """One readable line of the results table."""
    p = "-" if r.p_fake is None else f"{r.p_fake:.3f}"
    eyes = ",".join(f.face.eyes_from for f in r.faces) or "-"
    detail = r.error or f"{len(r.faces)} face(s), eyes: {eyes}"
    return f"{r.verdict:<9} {p:>6} {r.timing_ms.get('total', 0.0):7.1f}  {r.path}  ({detail})"


def unique_stem(path: str, seen: Dict[str, int]) -> str:
    """The file's stem, with -2, -3... when another input already had it."""
    stem = Path(path).stem
    seen[stem] = seen.get(stem, 0) + 1
    return stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"


def run(args: argparse.Namespace) -> int:
    detector = Detector(args.model, num_threads=args.threads)
    any_error = False
    stems: Dict[str, int] = {}
    if not args.json:
        print(f"{'verdict':<9} {'p_fake':>6} {'ms':>7}  path")
    for path in expand_inputs(args.paths, keep_empty_folders=True):
        result = detector.detect(path)
        any_error |= result.verdict == Verdict.ERROR
        if args.explain:
            write_explanations(detector.model, path, result, Path(args.explain), unique_stem(path, stems))
        print(json.dumps(result.to_dict()) if args.json else table_row(result), flush=True)
    return 1 if any_error else 0
