"""The README's performance table, made from a benchmark report and the shipped model files, so
that the figures the README repeats have one source (tests/test_docs_figures.py checks it).

``python -m eyegrad.benchmarks.readme_table [REPORT]`` prints it (default: the reference report).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Dict, List

from eyegrad.runtime.model import DEFAULT_MODEL

#: The report the README quotes.
REFERENCE_REPORT = Path(__file__).resolve().parent / "reference" / "x86_64.json"
LANDMARK_MODEL = DEFAULT_MODEL.with_name("blazeface_short_range.tflite")
SHIPPED, PEER, PEER_KERAS = "eyegrad (shipped)", "Meso-4 int8", "Meso-4"


def kib(n: int) -> str:
    """A size in KiB with one decimal, e.g. ``62.4 KiB``."""
    return f"{n / 1024:.1f} KiB"


def _ms(row: Dict) -> str:
    return f"{row['invoke_ms']['p50']:.2f} ms"


def _per_thread(values: Dict[int, float], unit: str) -> str:
    return ", ".join(f"{v:.0f} {unit} ({n} thread{'s' * (n > 1)})" for n, v in sorted(values.items()))


def performance_table(report: Dict, model_bytes: int, landmark_bytes: int) -> str:
    """The README's table: sizes of the shipped files, the report's invoke, frame and rate figures."""
    rows = {r["name"]: r for r in report["models"]}
    ours, peer, keras = rows[SHIPPED], rows[PEER], rows[PEER_KERAS]
    ratio = report["frame_vs_meso4_int8"]
    files = {int(k.split()[0]): v["images_per_s"] for k, v in report["throughput"].items()}
    camera = {r["threads"]: r["fps"] for r in report["camera"]["rows"]
              if r["size"] == "640x480" and r["detect_every"] == 3}
    lines: List[str] = [
        "| | eyegrad int8 (shipped) | Meso-4 int8 | Meso-4 float32 (Keras) |",
        "|---|---:|---:|---:|",
        f"| size | {model_bytes:,} B = {kib(model_bytes)} (+ {kib(landmark_bytes)} landmark model) | "
        f"{kib(peer['size_bytes'])} | {kib(keras['size_bytes'])} |",
        f"| one invoke, 1 thread, p50 | {_ms(ours)} | {_ms(peer)} | {_ms(keras)} |",
        f"| inference per face | {ours['face_ms']:.2f} ms ({ours['views_per_face']} invokes) | "
        f"{peer['face_ms']:.2f} ms | {keras['face_ms']:.2f} ms |",
        "| 640x480 frame with one face, array in, 1 thread, timed alternately with one Meso-4 int8 invoke | "
        f"{ratio['frame_ms']:.2f} ms = {ratio['ratio']:.2f}x one invoke | {ratio['invoke_ms']:.2f} ms | |",
        f"| image files per second | {_per_thread(files, 'files/s')} | | |",
        f"| camera loop, 640x480, faces searched every 3rd frame | {_per_thread(camera, 'fps')} | | |",
    ]
    return "\n".join(lines)


def reference_table(report_path: Path = REFERENCE_REPORT) -> str:
    """``performance_table`` of a report file and the shipped model files."""
    report = json.loads(Path(report_path).read_text())
    return performance_table(report, DEFAULT_MODEL.stat().st_size, LANDMARK_MODEL.stat().st_size)


if __name__ == "__main__":
    print(reference_table(*(Path(a) for a in sys.argv[1:2])))
