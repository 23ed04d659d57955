"""How much of a validation split also shows up in its training side: blocks against groups.

``python -m eyegrad.train.validation_report --data ROOT... [--json OUT]`` splits the data both
ways ``eyegrad train`` can (``--split blocks`` and ``--split groups``, seed 0, 20% validation)
and prints, per source, the files and groups on each side, the share of validation files that
have a training file of the same source with a thumbnail cosine similarity of at least 0.90 and
0.95 (a near-duplicate: the same person or scene, ``groups.thumbnail``), and, for a source
with a ``pairs.csv``, how many fake/original pairs are cut apart.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from .data import Sample, source_name
from .groups import most_similar, pairs_of, thumbnail
from .run import group_counts, load_samples, split_samples

#: The similarities at which a validation file counts as leaked.
LEAK_AT = (0.90, 0.95)


def leak_rates(train: Sequence[Sample], val: Sequence[Sample], vectors: Dict[Path, np.ndarray]) -> Dict[str, float]:
    """Share of validation files with a training file at least ``LEAK_AT`` similar."""
    pool = np.stack([vectors[s.path] for s in train if s.path in vectors] or [np.zeros(1, np.float32)])
    queries = [vectors[s.path] for s in val if s.path in vectors]
    if not queries:
        return {f"leak_{t:.2f}": float("nan") for t in LEAK_AT}
    best = most_similar(np.stack(queries), pool) if pool.shape[1] > 1 else np.full(len(queries), -1.0)
    return {f"leak_{t:.2f}": round(float((best >= t).mean()), 4) for t in LEAK_AT}


def pairs_cut(root: Path, val: Sequence[Sample]) -> Optional[int]:
    """How many pairs of ``root``/pairs.csv have one file in ``val`` (that source's) and the other not."""
    pairs = pairs_of(root)
    if not pairs:
        return None
    in_val = {s.path.name for s in val}
    return sum((fake in in_val) != (original in in_val) for fake, original in pairs)


def report(roots: Sequence[Path], val_fraction: float = 0.2, seed: int = 0) -> Dict[str, Dict[str, Dict]]:
    """split -> source -> files, groups, leak rates (and pairs cut) of that split."""
    out: Dict[str, Dict[str, Dict]] = {}
    vectors: Dict[Path, np.ndarray] = {}
    for split in ("blocks", "groups"):
        samples = load_samples(roots, split=split)
        if not vectors:
            vectors = {s.path: v for s in samples if (v := thumbnail(s.path)) is not None}
        train, val = split_samples(samples, split, val_fraction, seed)
        groups = group_counts(train, val)
        rows = {}
        for root in roots:
            src = source_name(root)
            tr = [s for s in train if s.source == src]
            va = [s for s in val if s.source == src]
            rows[src] = {"train_files": len(tr), "val_files": len(va), "train_groups": groups[src]["train"],
                         "val_groups": groups[src]["val"], **leak_rates(tr, va, vectors),
                         "pairs_cut": pairs_cut(Path(root), va)}
        out[split] = rows
    return out


def markdown(table: Dict[str, Dict[str, Dict]]) -> str:
    lines = ["| split | source | files train / val | groups train / val | val files leaked (>= 0.90) | "
             "(>= 0.95) | pairs cut |", "|---|---|---|---|---|---|---|"]
    for split, rows in table.items():
        for src, r in rows.items():
            cut = "-" if r["pairs_cut"] is None else r["pairs_cut"]
            lines.append(f"| {split} | {src} | {r['train_files']} / {r['val_files']} | {r['train_groups']} / "
                         f"{r['val_groups']} | {r['leak_0.90']:.3f} | {r['leak_0.95']:.3f} | {cut} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eyegrad.train.validation_report", description=__doc__.splitlines()[0])
    p.add_argument("--data", nargs="+", type=Path, required=True, metavar="ROOT")
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    args = p.parse_args(argv)
    table = report([r.resolve() for r in args.data])
    print(markdown(table))
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
