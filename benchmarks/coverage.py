"""Face coverage and where the eyes came from, for the face finder on a fixed subset of ../shared/data.

``python -m eyegrad.benchmarks.coverage [--data DIR] [--per-set 150] [--json OUT]`` prints, per
set, the share of images where a face is found, the share of found faces whose eyes were
placed by geometry (the largest face; neither the landmark model nor the eye cascade found
them), and the mean time of ``FaceFinder.find`` on one thread. Speed work on
``edge_runtime/faces.py`` (``eyegrad.runtime.faces``) must not lower the first nor raise the
second: ``--full-search`` measures the finder without its quick pass, ``--no-landmarks``
without the landmark model (the eye cascade places every eye pair).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Dict, List, Optional

import cv2

from eyegrad.runtime.boxes import FOUND_EYE_ORIGINS
from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.errors import InputError
from eyegrad.runtime.faces import FaceFinder
from eyegrad.runtime.progress import Progress

from .images import COVERAGE_SETS, SHARED_DATA, Labelled, validation_subset


def set_coverage(finder: FaceFinder, files: Labelled, label: str = "") -> Dict:
    """Face rate, geometry-eye share and mean find() time over one set's images."""
    faces = geometry = errors = 0
    find_ms = 0.0
    per_image = []
    bar = Progress(len(files), label)
    for path, y in files:
        try:
            gray = decode_image(path)
        except InputError as exc:
            errors += 1
            per_image.append({"path": str(path), "error": str(exc)})
            bar.update()
            continue
        t0 = time.perf_counter()
        found = finder.find(gray)
        find_ms += (time.perf_counter() - t0) * 1e3
        faces += bool(found)
        geometry += bool(found) and not found[0].eyes_found
        first = found[0] if found else None
        per_image.append({"path": str(path), "label": y, "faces": len(found),
                          "box": list(first.box) if first else None,
                          "eyes": [list(e) for e in first.eyes] if first else None,
                          "eyes_from": first.eyes_from if first else None})
        bar.update()
    bar.close()
    n = len(files)
    return {"n": n, "errors": errors, "face_rate": faces / n if n else 0.0,
            "geometry_eye_share": geometry / faces if faces else 0.0,
            "find_ms_mean": find_ms / max(1, n - errors), "per_image": per_image}


def coverage(data_root: Path = SHARED_DATA, per_set: int = 150, finder: Optional[FaceFinder] = None,
             offset: float = 0.0) -> Dict:
    """Coverage per set (on one OpenCV thread) and over all sets together."""
    cv2.setNumThreads(1)
    finder = finder or FaceFinder()
    subsets = validation_subset(data_root, per_set, COVERAGE_SETS, offset)
    sets = {name: set_coverage(finder, files, name) for name, files in subsets.items()}
    n = sum(s["n"] for s in sets.values())
    total = {"n": n,
             "face_rate": sum(s["face_rate"] * s["n"] for s in sets.values()) / max(1, n),
             "geometry_eye_share": (sum(s["geometry_eye_share"] * s["face_rate"] * s["n"] for s in sets.values())
                                    / max(1e-9, sum(s["face_rate"] * s["n"] for s in sets.values()))),
             "find_ms_mean": sum(s["find_ms_mean"] * s["n"] for s in sets.values()) / max(1, n)}
    return {"data": str(data_root), "per_set": per_set, "offset": offset, "sets": sets, "all": total}


def flips(before: Dict, after: Dict) -> Dict[str, Dict[str, int]]:
    """Per set, images that lost or gained a face / found eyes (not geometry) from ``before`` to ``after``."""
    out = {}
    for name, b in before["sets"].items():
        pairs = list(zip(b["per_image"], after["sets"][name]["per_image"]))
        face = [(bool(x.get("faces")), bool(y.get("faces"))) for x, y in pairs]
        eyes = [(x.get("eyes_from") in FOUND_EYE_ORIGINS, y.get("eyes_from") in FOUND_EYE_ORIGINS) for x, y in pairs]
        out[name] = {"face_lost": sum(x and not y for x, y in face), "face_gained": sum(y and not x for x, y in face),
                     "eyes_lost": sum(x and not y for x, y in eyes), "eyes_gained": sum(y and not x for x, y in eyes)}
    return out


def format_table(report: Dict) -> str:
    """A markdown table of the coverage report."""
    lines = ["| set | images | face found | faces with geometry eyes | find() ms (mean, 1 thread) |",
             "|---|---:|---:|---:|---:|"]
    for name, s in [*report["sets"].items(), ("all", report["all"])]:
        lines.append(f"| {name} | {s['n']} | {s['face_rate']:.1%} | {s['geometry_eye_share']:.1%} "
                     f"| {s['find_ms_mean']:.1f} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eyegrad.benchmarks.coverage", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=SHARED_DATA, help="data root (default: ../shared/data)")
    p.add_argument("--per-set", type=int, default=150, help="images per set, balanced real/fake (default 150)")
    p.add_argument("--offset", type=float, default=0.0,
                   help="shift of the evenly spaced picks, in steps (0-1; another subset, same size)")
    p.add_argument("--json", metavar="OUT", help="write the report here")
    p.add_argument("--per-image", action="store_true", help="keep every image's faces and eyes in the JSON")
    p.add_argument("--compare", metavar="BEFORE", help="a --per-image report of the same subset: count the "
                   "images that lost or gained a face or found eyes since")
    p.add_argument("--full-search", action="store_true",
                   help="no quick pass: always the full face search (the finder before the speed work)")
    p.add_argument("--no-landmarks", action="store_true",
                   help="no landmark model: the eye cascade places the eyes (the finder before it)")
    args = p.parse_args(argv)
    if not args.data.is_dir():
        print(f"no data at {args.data}: put the face sets there (see ../shared/data/README.md) or pass --data")
        return 2
    before = json.loads(Path(args.compare).read_text()) if args.compare else None
    if before is not None and not all("per_image" in s for s in before["sets"].values()):
        print(f"{args.compare} has no per-image results: write it with --per-image to compare against it")
        return 2
    no_quick_pass = {"quick_side": None} if args.full_search else {}
    finder = FaceFinder(**no_quick_pass, eye_landmarks=not args.no_landmarks)
    report = coverage(args.data, args.per_set, finder, args.offset)
    print(format_table(report))
    if args.compare:
        print("\n| set | faces lost | faces gained | found eyes lost | found eyes gained |\n|---|---:|---:|---:|---:|")
        for name, f in flips(before, report).items():
            print(f"| {name} | {f['face_lost']} | {f['face_gained']} | {f['eyes_lost']} | {f['eyes_gained']} |")
    if args.json:
        if not args.per_image:
            for s in report["sets"].values():
                s.pop("per_image")
        Path(args.json).write_text(json.dumps(report, indent=1))
        print(f"report written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
