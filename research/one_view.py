"""What the mirrored view adds: a model scored on one view (the band) and on two (band and mirror).

    python research/one_view.py runs/p8 models/eyegrad.tflite

The run's split is remade (``optimize.rundata.run_data``); the int8 model scores every validation
crop's band and mirrored band; ROC-AUC per source for the band alone and for the mean of the two,
as the runtime averages them. ``t2i_portraits`` and ``unsplash`` (fakes only, reals only) are
scored together.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from eyegrad.optimize.rundata import run_data
from eyegrad.optimize.variants import load_tflite
from eyegrad.runtime.metrics import binary_report
from eyegrad.train.cache import CONTEXT_GEOMETRY
from eyegrad.train.config import load_run
from eyegrad.train.sequence import view_batches

ROWS = {"mesonet_df": ("mesonet_df",), "dfdc": ("dfdc",), "ciplab": ("ciplab",),
        "stylegan_ffhq": ("stylegan_ffhq",), "t2i_portraits vs unsplash": ("t2i_portraits", "unsplash")}


def main() -> int:
    run_dir, model_path = Path(sys.argv[1]), Path(sys.argv[2])
    val = run_data(load_run(run_dir)).val
    model = load_tflite(model_path.read_bytes())
    band, mirrored = view_batches(val, CONTEXT_GEOMETRY, model.geometry, ("band", "mirrored"), (1.0,))
    one = model.predict(band).reshape(-1)
    two = (one + model.predict(mirrored).reshape(-1)) / 2
    print(f"| validation of {run_dir} | n | one view | two views |\n|---|---|---|---|")
    for row, sources in [("all", tuple(set(val.sources))), *ROWS.items()]:
        mask = np.isin(val.sources, sources)
        y = val.labels[mask]
        print(f"| {row} | {int(mask.sum())} | {binary_report(y, one[mask])['auc']:.3f} | "
              f"{binary_report(y, two[mask])['auc']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
