"""One benchmark run: accuracy and latency of every model, runtime stages, throughput, targets."""
from __future__ import annotations

import itertools
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np

from eyegrad.runtime.detector import Detector
from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.faces import FaceFinder
from eyegrad.runtime.interpreter import TfliteModel, interpreter_class
from eyegrad.runtime.model import EyeModel
from eyegrad.runtime.timing import time_call

from . import meso4
from .accuracy import Item, accuracy_report, eyegrad_scores, prepare, whole_image_scores
from .camera_fps import camera_rates
from .images import BENCH_SETS, SHARED_DATA, Labelled, camera_frame, sample_files, set_subset, validation_subset
from .latency import frame_against_invoke, invoke_latency, set_threads, stage_latency, throughput
from .machine import describe
from .report import pareto
from .variants import collect

OVERLAP_NOTE = ("These images come from the sets eyegrad models are trained on and may overlap their training "
                "data; Meso-4's published weights were trained on the MesoNet Deepfake training half, i.e. "
                "mesonet_df/train. Read the numbers as a relative comparison on the same images, not as "
                "held-out accuracy.")
FRAME_TARGET_MS = 10.0


class Settings(NamedTuple):
    """What to run (the parsed command line)."""

    models: Sequence[str] = ()
    manifest: Optional[Path] = None
    data: Optional[Path] = None
    per_set: int = 200
    runs: int = 300
    warmup: int = 20
    quick: bool = False
    with_meso4: bool = True
    meso4_weights: Path = meso4.DEFAULT_WEIGHTS
    meso4_tflite: Optional[Path] = None
    throughput_images: int = 200
    threads: int = os.cpu_count() or 1
    command: str = ""


def choose_images(s: Settings) -> Tuple[Dict[str, Labelled], Labelled, Dict]:
    """Benchmark images per set, calibration images for Meso-4 PTQ, and their description."""
    if s.quick:
        files = sample_files()
        return ({"samples": files}, files,
                {"description": "the four bundled samples (examples/, --quick)", "notes": [OVERLAP_NOTE]})
    if s.data is not None:
        subsets = {Path(s.data).name: set_subset(Path(s.data), s.per_set)}
        calib = set_subset(Path(s.data), 100, offset=0.5)
        return subsets, calib, {"description": f"{s.per_set} images of {s.data}, real/fake balanced, evenly "
                                               f"spaced in name order", "notes": [OVERLAP_NOTE]}
    subsets = validation_subset(SHARED_DATA, s.per_set, BENCH_SETS)
    if not subsets:
        raise EyegradError("the full benchmark needs labelled images: pass --data DIR (a folder with real/ and "
                           "fake/) or keep ../shared/data beside a checkout; `eyegrad bench --quick` times this "
                           "device on the bundled examples")
    calib = [f for files in validation_subset(SHARED_DATA, 60, BENCH_SETS, offset=0.5).values() for f in files]
    desc = (f"{s.per_set} per set from ../shared/data {', '.join(subsets)}: real and fake balanced, taken evenly "
            f"spaced in file-name order (benchmarks/images.py)")
    return subsets, calib, {"description": desc, "notes": [OVERLAP_NOTE]}


def eyegrad_row(name: str, path: Path, info: Dict, items: Sequence[Item], finder: FaceFinder, s: Settings) -> Dict:
    """Accuracy and invoke latency of one eyegrad .tflite (one thread), scored by its own Detector."""
    detector = Detector(path, num_threads=1, finder=finder)
    model = detector.model
    scores = eyegrad_scores(detector, items)
    example = next((model.face_views(it.gray, it.faces[0])[0] for it in items if it.faces), None)
    if example is None:
        example = np.zeros((model.geometry.height, model.geometry.width, 3), np.float32)
    return {"name": name, "kind": "eyegrad", "format": f"{model.tflite.input_type} tflite", "path": str(path),
            "size_bytes": model.tflite.size_bytes, "threshold": model.threshold, "info": info,
            **accuracy_report(items, scores, model.threshold),
            "invoke_ms": invoke_latency(model.tflite, example, s.runs, s.warmup),
            "bands_per_face": len(model.zooms), "views_per_face": len(model.zooms) * len(model.views)}


def meso4_rows(items: Sequence[Item], calib: Labelled, s: Settings, skipped: List[Dict]
               ) -> Tuple[List[Dict], Optional[TfliteModel]]:
    """The Keras fp32 and int8 .tflite Meso-4 rows (or skipped-row notes saying what is missing), and
    the int8 Meso-4 loaded on one thread (None without it)."""
    rows, reason = [], meso4.missing(s.meso4_weights)
    model, tflite = None, None
    if s.meso4_tflite is not None and Path(s.meso4_tflite).is_file():
        tflite = Path(s.meso4_tflite).read_bytes()
    if reason is None:
        if not meso4.limit_tf_threads(1):
            skipped.append({"name": "Meso-4 threads", "reason": "TensorFlow was already running: the Keras "
                            "row may use more than one thread"})
        model = meso4.load_meso4(s.meso4_weights)
        fn = meso4.keras_call(model)
        scores = whole_image_scores(lambda b: 1.0 - float(fn(meso4.meso4_input(b)).reshape(-1)[0]), items,
                                    "Meso-4 keras")
        x = meso4.meso4_input(items[0].data)
        rows.append({"name": "Meso-4", "kind": "meso4", "format": "float32 keras", "path": str(s.meso4_weights),
                     "size_bytes": Path(s.meso4_weights).stat().st_size, "threshold": 0.5, "info": {},
                     **accuracy_report(items, scores, 0.5), "invoke_ms": time_call(lambda: fn(x), s.runs, s.warmup)})
        if tflite is None:
            tflite = meso4.to_int8(model, [meso4.meso4_input(p) for p, _ in calib])
            if s.meso4_tflite is not None:
                Path(s.meso4_tflite).parent.mkdir(parents=True, exist_ok=True)
                Path(s.meso4_tflite).write_bytes(tflite)
    else:
        skipped.append({"name": "Meso-4 (keras)", "reason": reason})
    if tflite is None:
        skipped.append({"name": "Meso-4 (int8 tflite)", "reason": reason})
        return rows, None
    runner = TfliteModel(tflite, num_threads=1, name="Meso-4 int8")
    scores = whole_image_scores(lambda b: meso4.tflite_p_fake(runner, b), items, "Meso-4 int8")
    rows.append({"name": "Meso-4 int8", "kind": "meso4", "format": f"{runner.input_type} tflite",
                 "path": str(s.meso4_tflite or "(converted in memory)"), "size_bytes": runner.size_bytes,
                 "threshold": 0.5, "info": {"quantization": "post-training int8, representative: "
                                            f"{len(calib)} real images"},
                 **accuracy_report(items, scores, 0.5),
                 "invoke_ms": invoke_latency(runner, meso4.meso4_input(items[0].data), s.runs, s.warmup)})
    return rows, runner


def thread_label(n: int) -> str:
    return f"{n} thread" + ("s" if n > 1 else "")


def bench_frames() -> List[np.ndarray]:
    """The 640x480 camera-like BGR frames the runtime is timed on: each example face on a background."""
    return [camera_frame(cv2.imread(str(p)), seed=i) for i, (p, _) in enumerate(sample_files())]


def frame_ratio(peer: TfliteModel, peer_input: np.ndarray, frames: Sequence[np.ndarray], s: Settings
                ) -> Dict[str, float]:
    """The shipped model on ``frames`` (``bench_frames``; gray array in, 1 thread) against one invoke
    of ``peer``, measured alternately (``frame_against_invoke``)."""
    set_threads(1)
    gray = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    return frame_against_invoke(Detector(num_threads=1), gray, peer, peer_input, s.runs, s.warmup)


def runtime_stages(frames: Sequence[np.ndarray], s: Settings) -> Tuple[Dict, Dict]:
    """Per-stage latency on the sample images and on the camera-like ``frames`` (``bench_frames``),
    1 thread and all cores, and the Meso-4 preprocessing time (for its end-to-end estimate)."""
    images = [p.read_bytes() for p, _ in sample_files()]
    stages: Dict[str, Dict] = {"images": {}, "frames": {}}
    for n in sorted({1, s.threads}):
        key = thread_label(n)
        set_threads(n)
        detector = Detector(num_threads=n)
        stages["images"][key] = stage_latency(detector, images, s.runs, s.warmup, f"stages images {key}")
        stages["frames"][key] = stage_latency(detector, frames, s.runs, s.warmup, f"stages frames {key}")
    set_threads(1)
    next_image = itertools.cycle(images).__next__
    return stages, time_call(lambda: meso4.meso4_input(next_image()), s.runs, s.warmup)


def throughputs(items: Sequence[Item], s: Settings) -> Dict:
    paths = [str(it.path) for it in items][: s.throughput_images]
    out = {}
    for n in sorted({1, s.threads}):
        set_threads(n)
        out[thread_label(n)] = throughput(Detector(num_threads=n), paths, f"throughput {n} thread(s)")
    set_threads(1)
    return out


def add_estimates(rows: List[Dict], stages: Dict, meso_pre: Dict, stage_bands: int) -> None:
    """Per-face inference, end-to-end estimates and Pareto flags on every model row.

    An eyegrad model runs once per view of every band it cuts (``views_per_face``); the stages
    were measured with a model that cuts ``stage_bands`` bands, so features are scaled per band."""
    one = stages["images"]["1 thread"]
    detect = sum(one[k]["p50"] for k in ("decode", "faces", "eyes"))
    per_band = one["features"]["p50"] / stage_bands
    for r in rows:
        r["face_ms"] = round(r["invoke_ms"]["p50"] * r.get("views_per_face", 1), 3)
        prepare_ms = meso_pre["p50"] if r["kind"] == "meso4" else detect + per_band * r["bands_per_face"]
        r["e2e_ms_est"] = round(prepare_ms + r["face_ms"], 3)
    for key, flag in (("invoke", "pareto_invoke"), ("e2e", "pareto_e2e")):
        pts = [(r["face_ms"] if key == "invoke" else r["e2e_ms_est"], r["accuracy"]) for r in rows]
        for r, on in zip(rows, pareto(pts)):
            r[flag] = on


def targets(rows: List[Dict], stages: Dict, ratio: Optional[Dict] = None) -> List[str]:
    """The issue's targets, each with the measured value and whether it is met (``ratio``: the frame
    against one Meso-4 int8 invoke, from ``frame_ratio``)."""
    out = []
    frame = stages["frames"]["1 thread"]
    wall, cpu = frame["total"]["p50"], frame["total_cpu"]["p50"]
    out.append(f"end to end, 640x480 frame with one face, 1 thread: median {wall:.2f} ms "
               f"(target <= {FRAME_TARGET_MS:g} ms: {'met' if wall <= FRAME_TARGET_MS else 'NOT met'}); "
               f"CPU time {cpu:.2f} ms ({'met' if cpu <= FRAME_TARGET_MS else 'NOT met'} without other load)")
    shipped = next((r for r in rows if r["kind"] == "eyegrad"), None)
    peer = next((r for r in rows if r["name"] == "Meso-4 int8"), None)
    if ratio:
        met = "met" if ratio["ratio"] <= 1.0 else "NOT met"
        out.append(f"640x480 frame, array in (decode excluded), 1 thread: {ratio['frame_ms']:.2f} ms = "
                   f"{ratio['ratio']:.2f}x one Meso-4 int8 invoke ({ratio['invoke_ms']:.2f} ms), timed alternately "
                   f"(target <= 1.0: {met})")
    if shipped and peer:
        invoke_ratio = shipped["invoke_ms"]["p50"] / peer["invoke_ms"]["p50"]
        out.append(f"{shipped['name']} invoke / Meso-4 int8 invoke = {invoke_ratio:.3f} "
                   f"(target <= 0.1: {'met' if invoke_ratio <= 0.1 else 'NOT met'}); per face, "
                   f"{shipped['views_per_face']} invokes: {shipped['face_ms'] / peer['face_ms']:.3f}")
    for r in (r for r in rows if r["kind"] == "meso4" and shipped):
        above = shipped["accuracy"] > r["accuracy"]
        out.append(f"{shipped['name']} accuracy {shipped['accuracy']:.3f} vs {r['name']} ({r['format']}) "
                   f"{r['accuracy']:.3f} on the same images ({'above' if above else 'NOT above'})")
    return out


def benchmark(s: Settings) -> Dict:
    """Run everything and return the report (JSON-ready)."""
    if s.quick:
        s = s._replace(runs=min(s.runs, 10), warmup=min(s.warmup, 2), throughput_images=4)
    machine = describe()
    subsets, calib, images = choose_images(s)
    set_threads(1)
    finder = FaceFinder()  # faces are found once, then every eyegrad model's Detector scores them
    items = prepare(subsets, Detector(num_threads=1, finder=finder))
    variants, skipped = collect(s.models, s.manifest)
    rows = []
    for v in variants:
        try:
            rows.append(eyegrad_row(v.name, v.path, v.info, items, finder, s))
        except (EyegradError, OSError, ValueError, RuntimeError) as exc:
            skipped.append({"name": v.name, "reason": f"{v.path}: {str(exc).splitlines()[0]}"})
    ratio, frames = None, bench_frames()
    if s.with_meso4:
        meso_rows, peer = meso4_rows(items, calib, s, skipped)
        rows += meso_rows
        if peer is not None:
            ratio = frame_ratio(peer, meso4.meso4_input(items[0].data), frames, s)
    stages, meso_pre = runtime_stages(frames, s)
    add_estimates(rows, stages, meso_pre, len(EyeModel().zooms))  # the stages run the default model
    labels = [it.label for it in items]
    images.update(n=len(items), real=labels.count(0), fake=labels.count(1),
                  sets={name: len(files) for name, files in subsets.items()})
    return {"schema": "eyegrad-bench/1", "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": s.command or " ".join(sys.argv), "quick": s.quick, "runs": s.runs, "warmup": s.warmup,
            "machine": machine, "interpreter": interpreter_class().__module__, "images": images,
            "models": rows, "skipped": skipped, "stages": stages, "meso4_preprocess_ms": meso_pre,
            "frame_vs_meso4_int8": ratio, "throughput": throughputs(items, s), "targets": targets(rows, stages, ratio),
            "camera": camera_rates(20 if s.quick else 150, sorted({1, s.threads}))}
