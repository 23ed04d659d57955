"""Throughput of ``eyegrad scan``: local pool and Ray local with 1, 2 and all cores' workers.

    python benchmarks/scan_throughput.py [--images DIR] [-n 1000] [--rounds 3] [--no-ray] [--model M] [--out JSON]

Each configuration scans the first ``n`` images (sorted by name) of ``--images`` into a fresh
JSON lines file, ``--rounds`` times (configurations interleaved, medians reported: the machine
may be shared). ``images_per_second`` is the rate from the first record on, the rate a long scan
gets once the workers (or the Ray runtime and its actors) have started; ``wall_images_per_second``
includes that start-up. Results go to ``--out`` with the machine's description.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

from eyegrad.runtime.datasets import IMAGE_SUFFIXES, iter_files
from eyegrad.runtime.scan import Summary, scan
from eyegrad.runtime.scan.records import available_cores

REPO = Path(__file__).resolve().parent.parent
DEFAULT_IMAGES = REPO.parent / "shared" / "data" / "utkface" / "real"
DEFAULT_OUT = REPO / "benchmarks" / "reference" / f"{platform.machine()}-scan.json"


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo, else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the local pool's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed_scan(images: List[str], workers: int, ray_address: Optional[str], batch_size: int,
               model: Optional[str]):
    """Scan ``images`` into a new results file: its Summary and the CPU seconds of our process tree."""
    with tempfile.TemporaryDirectory() as tmp:
        list_file = Path(tmp) / "paths.txt"
        list_file.write_text("\n".join(images) + "\n")
        cpu = cpu_seconds()
        summary: Summary = scan(str(list_file), str(Path(tmp) / "results.jsonl"), workers, ray_address,
                                model, batch_size)
        return summary, cpu_seconds() - cpu


def measure(images: List[str], workers: int, ray_address: Optional[str], batch_size: int,
            model: Optional[str]) -> Dict:
    """One configuration once.

    ``images_per_second`` counts from the first record on: the local pool hands records over one
    at a time, Ray a batch at a time, so the first ``1`` or ``batch_size`` records are left out.
    ``cpu_ms_per_image`` (local pool only: Ray's actors are not our children) is what one image
    costs a core, whatever else runs on the machine.
    """
    load = os.getloadavg()[0]
    summary, cpu = timed_scan(images, workers, ray_address, batch_size, model)
    first = min(summary.scanned, batch_size if ray_address else 1)
    row = {"backend": summary.backend, "workers": workers,
           "images_per_second": (summary.scanned - first) / max(1e-9, summary.seconds - summary.first_result),
           "wall_images_per_second": summary.images_per_second, "first_result_seconds": summary.first_result,
           "cpu_ms_per_image": None if ray_address else 1e3 * cpu / max(1, summary.scanned),
           "load_average_before": load}
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    return row


def medians(rows: List[Dict]) -> Dict:
    """One configuration over its rounds: the median of each figure and every round's rate."""
    out = {k: rows[0][k] for k in ("backend", "workers")}
    for key in ("images_per_second", "wall_images_per_second", "first_result_seconds", "cpu_ms_per_image",
                "load_average_before"):
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = round(statistics.median(values), 2) if values else None
    out["images_per_second_rounds"] = [round(r["images_per_second"], 2) for r in rows]
    return out


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--images", type=Path, default=DEFAULT_IMAGES, help="folder of images (searched recursively)")
    ap.add_argument("-n", type=int, default=1000, help="how many images (the first by name)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3, help="runs of every configuration, interleaved")
    ap.add_argument("--no-ray", action="store_true", help="only the local pool")
    ap.add_argument("--model", help="an eyegrad .tflite (default: the shipped model)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    images = [str(p) for p in iter_files(args.images, IMAGE_SUFFIXES)][:args.n]
    if not images:
        print(f"no images under {args.images}", file=sys.stderr)
        return 2
    cores = available_cores()
    configs = [(address, w) for address in [None] + ([] if args.no_ray else ["local"])
               for w in sorted({1, 2, cores})]
    rounds = [[measure(images, w, address, args.batch_size, args.model) for address, w in configs]
              for _ in range(args.rounds)]
    runs = [medians([r[i] for r in rounds]) for i in range(len(configs))]
    report = {"machine": platform.machine(), "cpu": cpu_name(), "cores": cores,
              "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
              "images": {"folder": os.path.relpath(args.images, REPO), "n": len(images)},
              "model": Path(args.model).name if args.model else "models/eyegrad.tflite",
              "batch_size": args.batch_size, "rounds": args.rounds, "runs": runs,
              "note": "medians over the rounds; images_per_second counts from the first record on (start-up "
                      "left out); shared machine: other jobs ran at the same time (load_average_before)"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
