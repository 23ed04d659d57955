"""Recalibrate the model shipped in 0.6.0 with today's band rule, on the validation it was made with.

    git show aa3a4dc^:models/eyegrad.tflite > /tmp/eyegrad-0.6.0.tflite
    python research/recalibrate_shipped.py --model /tmp/eyegrad-0.6.0.tflite --out /tmp/recalibrated.tflite

The 0.6.0 model's training run is not kept, and ``../shared/data`` has changed since: ``dfdc``
grew from 1,200 to 1,800 groups (the first 1,200 rows of its ``pairs.csv`` are the old ones)
and ``ciplab`` was re-encoded. This script remakes the run's split on the data as it was
(``dfdc`` cut to its first 1,200 pairs, through a folder of links; the ``groups-v1`` split),
reports how far the split
drifted from the one the model recorded, calibrates the model on that validation
(``optimize.recalibrate.write_recalibrated``) and scores what no part of it trained on: the
600 new ``dfdc`` groups and the generated and real portraits (``t2i_portraits``, ``unsplash``).
Writes ``research/recalibrate_shipped.json`` beside it.
"""
from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path
from typing import Dict, List

import numpy as np

from eyegrad.optimize.calibrate import verdicts_per_source
from eyegrad.optimize.recalibrate import view_scores, write_recalibrated
from eyegrad.optimize.variants import load_tflite
from eyegrad.runtime.metrics import binary_report
from eyegrad.runtime.model import parse_metadata
from eyegrad.train.config import RunConfig
from eyegrad.train.groups import pairs_of
from eyegrad.train.run import load_crops, load_samples, prepare, split_summary

#: The pairs of ``dfdc`` that the 0.6.0 model's data held.
OLD_DFDC_PAIRS = 1200


def dfdc_view(dfdc: Path, folder: Path, rows: slice) -> Path:
    """``folder``/dfdc: links to the real and fake files of ``rows`` of ``dfdc``'s pairs.csv, with those rows."""
    view = folder / "dfdc"
    for label in ("real", "fake"):
        (view / label).mkdir(parents=True)
    with (view / "pairs.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["fake", "original"])
        for fake, original in pairs_of(dfdc)[rows]:
            writer.writerow([fake, original])
            (view / "fake" / fake).symlink_to(dfdc / "fake" / fake)
            (view / "real" / original).symlink_to(dfdc / "real" / original)
    return view


def split_drift(now: Dict, recorded: Dict) -> List[str]:
    """Where today's split summary differs from the recorded one, one line per (side, source)."""
    return [f"{side} {src}: now {now[side].get(src)}, recorded {recorded[side].get(src)}"
            for side in ("train", "val", "groups") for src in sorted(set(now[side]) | set(recorded[side]))
            if now[side].get(src) != recorded[side].get(src)]


def rates(labels: np.ndarray, scores: np.ndarray, sources: np.ndarray, band) -> Dict[str, Dict]:
    """Per source: ROC-AUC and the share of reals and fakes that get each verdict under ``band``."""
    out = {}
    for name, c in verdicts_per_source(labels, scores, sources, band).items():
        m = sources == name
        auc = binary_report(labels[m], scores[m])["auc"] if len(set(labels[m].tolist())) > 1 else None
        share = {k: round(c[k] / c[k.split("_")[0]], 3) if c[k.split("_")[0]] else None
                 for k in ("reals_called_real", "reals_called_fake", "fakes_called_fake", "fakes_called_real")}
        out[name] = {"auc": auc, "reals": c["reals"], "fakes": c["fakes"], **share}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--model", type=Path, required=True, help="the model shipped in 0.6.0")
    p.add_argument("--out", type=Path, required=True, help="where the recalibrated model is written")
    args = p.parse_args()
    raw = args.model.read_bytes()
    shipped = parse_metadata(raw)
    recorded, input_band = shipped.training, shipped.uncertain_band
    data_root = args.data.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        old_dfdc = dfdc_view(data_root / "dfdc", Path(tmp) / "old", slice(0, OLD_DFDC_PAIRS))
        roots = tuple(old_dfdc if Path(r).name == "dfdc" else data_root / Path(r).relative_to("../shared/data")
                      for r in recorded["data"])
        data = prepare(RunConfig(data=roots, split="groups-v1"))  # the split it was made with
        drift = split_drift(split_summary(data), recorded["split"])
        meta = write_recalibrated(raw, data, args.out, command="python research/recalibrate_shipped.py")
        new_dfdc = dfdc_view(data_root / "dfdc", Path(tmp) / "new", slice(OLD_DFDC_PAIRS, None))
        unseen = load_crops(load_samples([new_dfdc, data_root / "t2i_portraits", data_root / "unsplash"],
                                         split="groups"))
    pred = view_scores(load_tflite(args.out.read_bytes()), unseen)
    sources = np.where(np.isin(unseen.sources, ["t2i_portraits", "unsplash"]), "t2i_portraits vs unsplash",
                       "dfdc, 600 new groups")
    report = {"split_drift": drift, "threshold": meta.threshold, "uncertain_band": list(meta.uncertain_band),
              "video_band": list(meta.video_band), "calibration": meta.calibration,
              "unseen": {"new band": rates(unseen.labels, pred, sources, meta.uncertain_band),
                         "input model's band": rates(unseen.labels, pred, sources, input_band)},
              "input_band": list(input_band)}
    (Path(__file__).parent / "recalibrate_shipped.json").write_text(json.dumps(report, indent=1))
    print("split drift:", "; ".join(drift) or "none")
    for band, table in report["unseen"].items():
        for name, r in table.items():
            print(f"{band:11s} {name:28s} " + " ".join(f"{k} {v}" for k, v in r.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
