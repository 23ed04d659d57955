"""What the probe scripts share: a seeded sample of each source's files and a table of how well
each measured value ranks a source's fakes above its reals (ROC-AUC, fakes positive)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from eyegrad.runtime.metrics import roc_auc

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared/data beside the repo
SOURCES = {"mesonet_df": "mesonet_df/train", "dfdc": "dfdc", "ciplab": "ciplab/train",
           "stylegan_ffhq": "stylegan_ffhq", "genphotos": "genphotos", "utkface": "utkface",
           "t2i_portraits": "t2i_portraits", "unsplash": "unsplash"}
#: (source, label, file): one sampled file.
Job = Tuple[str, int, Path]


def sample_files(data: Path, sources: Sequence[str], per_class: int) -> List[Job]:
    """``per_class`` files of each source and class, seeded by the source alone (so the same files
    are measured whatever the other ``sources``)."""
    jobs = []
    for source in sources:
        rng = np.random.default_rng([0, list(SOURCES).index(source)])
        for label, kind in ((0, "real"), (1, "fake")):
            files = sorted((data / SOURCES[source] / kind).glob("*"))
            jobs += [(source, label, files[i]) for i in sorted(rng.permutation(len(files))[:per_class])]
    return jobs


def print_auc_table(jobs: Sequence[Job], values: Sequence[Optional[Tuple[float, ...]]], names: Sequence[str],
                    sources: Sequence[str], median_of: int = 0) -> None:
    """A markdown row per source: reals / fakes measured, the ROC-AUC of each value in ``names``
    and the median of value ``median_of`` for reals / fakes. A one-class source is scored
    against the other sources' other class; files whose value is None (no face) are left out."""
    kept = [(s, y, v) for (s, y, _), v in zip(jobs, values) if v is not None]
    src, y = np.array([k[0] for k in kept]), np.array([k[1] for k in kept])
    columns = np.array([k[2] for k in kept])
    print(f"| source | reals / fakes | {' | '.join('AUC ' + n for n in names)} "
          f"| {names[median_of]}, median real / fake |")
    print("|---" * (len(names) + 3) + "|")
    for source in sources:
        m = src == source
        if not m.any():
            print(f"| {source} | no face found in the sample |")
            continue
        scored = m if len(set(y[m])) == 2 else m | ((src != source) & (y != y[m][0]))
        aucs = " | ".join(f"{roc_auc(y[scored], columns[scored, c]):.3f}" for c in range(columns.shape[1]))
        median = [f"{np.median(columns[m & (y == c), median_of]):.3f}" if (m & (y == c)).any() else "-"
                  for c in (0, 1)]
        print(f"| {source} | {(m & (y == 0)).sum()} / {(m & (y == 1)).sum()} | {aucs} | {' / '.join(median)} |")
