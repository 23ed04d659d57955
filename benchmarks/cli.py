"""Accuracy and latency of every eyegrad model variant and of the Meso-4 peer, on one machine.

Writes PREFIX.json, PREFIX.md and PREFIX.png (accuracy against latency, Pareto front
marked) and prints the markdown. ``--quick`` runs on the four sample images with a
few timing runs (for tests); the numbers then mean nothing.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

from eyegrad.runtime.commands.common import number

from .report import markdown, plot
from .run import Settings, benchmark
from .variants import DEFAULT_MANIFEST


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models", nargs="+", default=[], metavar="TFLITE",
                   help="eyegrad .tflite variants to compare (the shipped model is always included)")
    p.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST,
                   help=f"JSON list of variants written by `eyegrad optimize` (default: {DEFAULT_MANIFEST}, "
                        "used when it exists)")
    p.add_argument("--data", type=Path, help="a labelled folder (real/ and fake/) instead of the default subset "
                   "of ../shared/data")
    p.add_argument("--per-set", type=number(int, 1), default=200, help="images per set, real/fake balanced (default 200)")
    p.add_argument("--runs", type=number(int, 1), default=300, help="timed runs per latency (default 300)")
    p.add_argument("--warmup", type=number(int, 0), default=20, help="untimed runs before each latency (default 20)")
    p.add_argument("--quick", action="store_true", help="the four sample images and a few runs (for tests)")
    p.add_argument("--no-meso4", action="store_true", help="leave out the Meso-4 rows")
    p.add_argument("--meso4-weights", type=Path, default=Settings._field_defaults["meso4_weights"],
                   help="Meso4_DF.h5 (default: ../shared/data/mesonet_weights/Meso4_DF.h5)")
    p.add_argument("--meso4-tflite", type=Path, help="int8 Meso-4 .tflite: used when it exists (no TensorFlow "
                   "needed), else written there after conversion")
    p.add_argument("--out", default=f"bench-results/{platform.machine()}",
                   help="output prefix: writes PREFIX.json, PREFIX.md and PREFIX.png "
                        "(default: bench-results/<machine>)")


def run(args: argparse.Namespace) -> int:
    settings = Settings(models=args.models, manifest=args.manifest, data=args.data, per_set=args.per_set,
                        runs=args.runs, warmup=args.warmup, quick=args.quick, with_meso4=not args.no_meso4,
                        meso4_weights=args.meso4_weights, meso4_tflite=args.meso4_tflite,
                        command="eyegrad bench " + " ".join(sys.argv[2:]) if len(sys.argv) > 1 else "")
    report = benchmark(settings)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    png = out.with_name(out.name + ".png")
    why_not = plot(report, png)
    if why_not:
        report["skipped"].append({"name": "plot", "reason": why_not})
    text = markdown(report, None if why_not else png.name)
    out.with_name(out.name + ".json").write_text(json.dumps(report, indent=1, default=float))
    out.with_name(out.name + ".md").write_text(text)
    print(text)
    print(f"written: {out}.json, {out}.md" + ("" if why_not else f", {png}"), file=sys.stderr)
    return 0
