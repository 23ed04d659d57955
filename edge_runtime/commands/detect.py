"""Classify images, video files or folders of them as real, fake or uncertain."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, Optional

from ..datasets import expand_inputs, is_video
from ..detector import Detector
from ..explain import write_explanations
from ..progress import Progress
from ..results import DetectResult, Verdict
from .common import add_model_args, add_video_args, detector_for


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="image or video files, or folders (searched recursively); one result per file")
    add_model_args(p)
    p.add_argument("--json", action="store_true", help="one JSON object per line (the detect result of docs/api.md)")
    p.add_argument("--explain", metavar="DIR", help="write each face's eye crops, gradient maps and "
                   "occlusion heatmap here as <name>_face<i>_<image>.png (images only)")
    add_video_args(p)


def table_row(r: DetectResult) -> str:
    """One readable line of the results table."""
    p = "-" if r.p_fake is None else f"{r.p_fake:.3f}"
    eyes = ",".join(f.face.eyes_from for f in r.faces) or "-"
    if r.error:
        detail = r.error
    elif r.video is not None:
        detail = f"video: {r.video.frames} frames scored, {len(r.video.tracks)} face track(s)"
    else:
        detail = f"{len(r.faces)} face(s), eyes: {eyes}"
    return f"{r.verdict:<9} {p:>6} {r.timing_ms.get('total', 0.0):7.1f}  {r.path}  ({detail})"


def unique_stem(path: str, seen: Dict[str, int]) -> str:
    """The file's stem, with -2, -3... when another input already had it."""
    stem = Path(path).stem
    seen[stem] = seen.get(stem, 0) + 1
    return stem if seen[stem] == 1 else f"{stem}-{seen[stem]}"


def detect_one(detector: Detector, path: str) -> DetectResult:
    """The result of one file; a video shows its progress on stderr."""
    if Path(path).is_dir():  # expand_inputs keeps a folder only when it holds no image or video
        return DetectResult.failed(path, f"no images or videos in directory {path}")
    if not is_video(path):
        return detector.detect(path)
    bar: Optional[Progress] = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        bar = bar or Progress(total, Path(path).name, unit="frames")
        bar.update(done - bar.done)

    result = detector.detect_video(path, progress)
    if bar is not None:
        bar.close()
    return result


def run(args: argparse.Namespace) -> int:
    detector = detector_for(args)
    any_error = False
    stems: Dict[str, int] = {}
    if not args.json:
        print(f"{'verdict':<9} {'p_fake':>6} {'ms':>7}  path")
    for path in expand_inputs(args.paths, keep_empty_folders=True):
        result = detect_one(detector, path)
        any_error |= result.verdict == Verdict.ERROR
        if args.explain and result.video is None:
            write_explanations(detector.model, path, result, Path(args.explain), unique_stem(path, stems))
        print(json.dumps(result.to_dict()) if args.json else table_row(result), flush=True)
    return 1 if any_error else 0
