"""Benchmark outputs: the Pareto front, a markdown report and the accuracy-vs-latency plot."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from .camera_fps import camera_table
from .latency import STAGES


def pareto(points: Sequence[Tuple[float, float]]) -> List[bool]:
    """For (latency, accuracy) points: True where no other point is at least as fast and as accurate
    and strictly better in one of the two."""
    return [not any(l2 <= l1 and a2 >= a1 and (l2, a2) != (l1, a1) for l2, a2 in points) for l1, a1 in points]


def _f(x: Optional[float], digits: int = 3) -> str:
    return "-" if x is None or x != x else f"{x:.{digits}f}"


def _lat(s: Optional[Dict]) -> str:
    return "-" if not s or not s.get("runs") else f"{s['p50']:.2f} / {s['p95']:.2f} / {s['p99']:.2f}"


def models_table(rows: Sequence[Dict]) -> List[str]:
    out = ["| model | format | size KB | accuracy | balanced acc. | AUC | coverage | invoke ms p50 / p95 / p99 "
           "| invokes per face | inference ms per face | end-to-end ms p50 (est.) | Pareto |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"]
    for r in rows:
        size = "-" if r.get("size_bytes") is None else f"{r['size_bytes'] / 1024:.1f}"
        front = ("inv" if r.get("pareto_invoke") else "") + (" e2e" if r.get("pareto_e2e") else "")
        out.append(f"| {r['name']} | {r['format']} | {size} | {_f(r['accuracy'])} | {_f(r['balanced_accuracy'])} "
                   f"| {_f(r['auc'])} | {_f(r['coverage'])} | {_lat(r['invoke_ms'])} | {r.get('views_per_face', 1)} "
                   f"| {_f(r.get('face_ms'), 2)} | {_f(r.get('e2e_ms_est'), 2)} "
                   f"| {front.strip() or '-'} |")
    return out


def per_set_table(rows: Sequence[Dict]) -> List[str]:
    sets = sorted({s for r in rows for s in r["per_set"]})
    out = ["| model | " + " | ".join(f"{s} acc / AUC" for s in sets) + " |", "|---|" + "---:|" * len(sets)]
    for r in rows:
        cells = [f"{_f(r['per_set'][s]['accuracy'])} / {_f(r['per_set'][s]['auc'])}" if s in r["per_set"] else "-"
                 for s in sets]
        out.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    return out


def stages_table(stages: Dict[str, Dict[str, Dict]]) -> List[str]:
    """Rows: stages; columns: p50/p95/p99 for each thread setting."""
    keys = list(stages)
    out = ["| stage | " + " | ".join(f"{k} ms p50 / p95 / p99" for k in keys) + " |", "|---|" + "---:|" * len(keys)]
    for stage in STAGES:
        out.append(f"| {stage} | " + " | ".join(_lat(stages[k].get(stage)) for k in keys) + " |")
    return out


def markdown(report: Dict, plot_name: Optional[str] = None) -> str:
    """The whole report as markdown."""
    m, im = report["machine"], report["images"]
    pk = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    lines = [f"# eyegrad benchmark: {m['machine']}, {report['date']}", "",
             f"- CPU: {m['cpu']}, {m['cores']} cores; {m['os']}; Python {m['python']}",
             f"- libraries: {pk}; TFLite interpreter: {report['interpreter']}",
             f"- load average when the run started: {m['load_average']}",
             f"- command: `{report['command']}`", "",
             "## Accuracy against latency (one thread)", "",
             f"Images: {im['description']} ({im['n']} images: {im['real']} real, {im['fake']} fake).",
             "", *[f"> {note}" for note in im["notes"]], "",
             *models_table(report["models"]), "",
             "invoke: `Interpreter.invoke()` alone on one thread (Keras: one compiled call on one thread); "
             "invokes per face: an eyegrad model averages the views its metadata lists at each of its zooms "
             "(metadata `views` x `zooms`), so inference per face is that many invokes; "
             "end-to-end (est.): the sum of the medians of every stage from encoded image to score, on the "
             "sample images (eyegrad: decode, faces, eyes, features of each band + inference per face; Meso-4: "
             "decode and 256x256 resize + invoke). Pareto: on the front of accuracy against inference per face "
             "(inv) or end-to-end (e2e) time."]
    if plot_name:
        lines += ["", f"![accuracy against latency]({plot_name})"]
    lines += ["", "### Per set", "", *per_set_table(report["models"])]
    if report["skipped"]:
        lines += ["", "### Skipped rows", "", *[f"- {s['name']}: {s['reason']}" for s in report["skipped"]]]
    for kind, text in (("images", "the sample images (examples/, 208-342 px face crops, JPEG bytes in memory)"),
                       ("frames", "640x480 camera-like BGR frames, one face about 190 px wide")):
        lines += ["", f"## Runtime stages: {kind}", "",
                  f"Shipped model, {text}; {report['runs']} runs after {report['warmup']} warm-up runs. "
                  "total_cpu: CPU time of the calling thread for the whole pass (not inflated by other "
                  "processes; with more threads it leaves out the helpers' work).", "",
                  *stages_table(report["stages"][kind])]
    lines += ["", "## Throughput", "", "| threads | images | seconds | images/s |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {t['images']} | {t['seconds']} | {t['images_per_s']} |" for k, t in report["throughput"].items()]
    lines += ["", "`Detector.detect` on each benchmark image file in turn (read, decode, detect, score)."]
    if "camera" in report:  # reports of older versions have no camera table
        lines += ["", "## Camera loop", "",
                  f"`eyegrad camera`'s loop on {report['camera']['frames']} recorded frames per stream: one face, "
                  "half the frame high, drifting sideways; each frame held in memory as a Pi camera delivers it "
                  "(gray plane and a 320-px-wide copy that faces are searched in), so no decoder is timed. "
                  "CPU %: the process's CPU time over wall time (100 = one core).", "", *camera_table(report["camera"])]
    lines += ["", "## Targets", "", *[f"- {t}" for t in report["targets"]], ""]
    return "\n".join(lines)


def plot(report: Dict, path: Path) -> Optional[str]:
    """Accuracy against invoke and end-to-end latency, Pareto front marked; None or why not."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib import ticker
    except ImportError:
        return "matplotlib is not installed: no plot (pip install matplotlib)"
    rows = report["models"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, flag, title in ((axes[0], "invoke", "pareto_invoke", "model inference per face, 1 thread"),
                                 (axes[1], "e2e", "pareto_e2e", "end to end (est.), 1 thread")):
        pts = [((r["face_ms"] if key == "invoke" else r["e2e_ms_est"]), r["accuracy"], r) for r in rows
               if r.get("e2e_ms_est") is not None]
        front = sorted((x, y) for x, y, r in pts if r.get(flag))
        for x, y, r in pts:
            color = "tab:red" if r["kind"] == "meso4" else "tab:blue"
            ax.scatter([x], [y], s=60 if r.get(flag) else 30, color=color,
                       edgecolors="black" if r.get(flag) else "none", zorder=3)
            ax.annotate(r["name"], (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
        if front:
            ax.step([x for x, _ in front], [y for _, y in front], where="post", color="gray", ls="--",
                    label="Pareto front")
            ax.legend(loc="best", fontsize=8)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.margins(x=0.25, y=0.12)
        ax.set_xlabel("latency p50 (ms, log scale)")
        ax.set_ylabel("accuracy")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"eyegrad vs Meso-4 on {report['images']['n']} images, {report['machine']['cpu']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None
