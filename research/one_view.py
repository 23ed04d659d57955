"""What the mirrored view adds: a model scored on one view (the band) and on two (band and mirror).

    python research/one_view.py runs/p8 models/eyegrad.tflite

The run's validation is remade and cut into rows as ``compare_on_run.py`` cuts it; the int8 model
scores every validation crop's band and mirrored band; ROC-AUC per row for the band alone and for
the mean of the two, as the runtime averages them.
"""
from __future__ import annotations

import sys
from pathlib import Path

from compare_on_run import print_table, validation_rows  # research/, beside this script

from eyegrad.optimize.variants import load_tflite
from eyegrad.train.cache import CONTEXT_GEOMETRY
from eyegrad.train.sequence import view_batches


def main() -> int:
    run_dir, model_path = Path(sys.argv[1]), Path(sys.argv[2])
    val, rows = validation_rows(run_dir)
    model = load_tflite(model_path.read_bytes())
    band, mirrored = view_batches(val, CONTEXT_GEOMETRY, model.geometry, ("band", "mirrored"), (1.0,))
    one = model.predict(band).reshape(-1)
    two = (one + model.predict(mirrored).reshape(-1)) / 2
    print_table(f"validation of {run_dir}", val.labels, rows, {"one view": one, "two views": two})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
