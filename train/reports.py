"""Metrics per validation source, plots and markdown tables of a training run."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from eyegrad.runtime.metrics import binary_report, roc_curve

from .cache import CropSet

METRIC_COLUMNS = ("n", "accuracy", "balanced_accuracy", "auc", "precision", "recall", "f1")
#: Columns of the leave-one-source-out table (loso.md and the run's report).
LOSO_COLUMNS = ("n", "paired", "accuracy", "auc", "fake_catch_rate", "real_pass_rate", "val_auc")


def per_source(val: CropSet, pred: np.ndarray, threshold: float = 0.5, decided: Optional[np.ndarray] = None
               ) -> Dict[str, Dict]:
    """Metrics on all validation crops, per source, and by eye origin (found/geometry).

    ``decided`` marks the crops that got a prediction (default: all); the others count as wrong,
    as in ``eyegrad evaluate``, and are left out of the eye-origin rows."""
    ok = np.ones(len(val.labels), bool) if decided is None else np.asarray(decided, bool)
    out = {"all": binary_report(val.labels, pred, threshold, ok)}
    for src in sorted(set(val.sources)):
        m = val.sources == src
        out[src] = binary_report(val.labels[m], pred[m], threshold, ok[m])
    for name, m in (("eyes:found", val.eyes_found & ok), ("eyes:geometry", ~val.eyes_found & ok)):
        if m.any():
            out[name] = binary_report(val.labels[m], pred[m], threshold)
    return out


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.3f}"
    return str(v)


def markdown_table(rows: Dict[str, Dict], columns: Sequence[str] = METRIC_COLUMNS, first: str = "set") -> str:
    lines = [f"| {first} | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 1)]
    for name, r in rows.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def stress_table(plain: Dict[str, Dict], stress: Dict) -> str:
    """The stress view beside the plain validation, per source (``stress.stress_report``)."""
    r = stress["recipe"]
    lines = [f"Stress view: the same images downscaled {r['scale'][0]:g}-{r['scale'][1]:g}x ({r['interpolation']}), "
             f"JPEG q{r['jpeg_quality'][0]}-{r['jpeg_quality'][1]} (seed {r['seed']}, drawn per file); an image "
             "that loses its face counts as wrong.", "",
             "| set | n | accuracy | auc | stressed n | faces kept | stressed accuracy | stressed auc | auc change |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, s in stress["metrics"].items():
        p = plain.get(name, {})
        change = s["auc"] - p["auc"] if isinstance(s["auc"], float) and isinstance(p.get("auc"), float) else None
        lines.append(f"| {name} | {_fmt(p.get('n'))} | {_fmt(p.get('accuracy'))} | {_fmt(p.get('auc'))} | "
                     f"{_fmt(s['n'])} | {_fmt(s['coverage'])} | {_fmt(s['accuracy'])} | {_fmt(s['auc'])} | "
                     f"{_fmt(change)} |")
    return "\n".join(lines)


def render_report(run: Dict) -> str:
    """report.md of a run: its command, split, each model's metrics and the checks it ran."""
    parts = [f"# Training run {run['date']}", "", f"Command: `{run['command']}`", "",
             "Split (crops):", "```", json.dumps(run["split"], indent=1), "```"]
    for role in ("student", "teacher"):
        if role in run:
            parts += ["", f"## {role}: {run[role]['params']} parameters, {run[role]['macs']} multiply-adds",
                      "", markdown_table(run[role]["metrics"])]
            if "stress" in run[role]:
                parts += ["", stress_table(run[role]["metrics"], run[role]["stress"])]
    if "jpeg_shortcut" in run:
        parts += ["", "## JPEG shortcut check", "", "```", json.dumps(run["jpeg_shortcut"], indent=1), "```"]
    if "loso" in run:
        parts += ["", "## Leave one source out", "", markdown_table(run["loso"], LOSO_COLUMNS, "held-out source")]
    return "\n".join(parts) + "\n"


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(histories: Dict[str, List[Dict]], path: Path) -> None:
    """Training loss and validation AUC per epoch, one line per model."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.5))
    for name, hist in histories.items():
        ep = [h["epoch"] for h in hist]
        a1.plot(ep, [h.get("loss", np.nan) for h in hist], label=name)
        a2.plot(ep, [h["val_auc"] for h in hist], label=name)
    a1.set(xlabel="epoch", ylabel="training loss")
    a2.set(xlabel="epoch", ylabel="validation ROC-AUC")
    a1.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_roc(labels: np.ndarray, preds: Dict[str, np.ndarray], path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4, 4))
    for name, p in preds.items():
        fpr, tpr = roc_curve(labels, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC {binary_report(labels, p)['auc']:.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="validation ROC")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(report: Dict, path: Path, title: str = "validation") -> None:
    plt = _plt()
    c = report["confusion"]
    m = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
    fig, ax = plt.subplots(figsize=(3.2, 3))
    ax.imshow(m, cmap="Blues")
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, str(v), ha="center", va="center", color="black")
    ax.set_xticks([0, 1], ["pred real", "pred fake"])
    ax.set_yticks([0, 1], ["real", "fake"])
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
