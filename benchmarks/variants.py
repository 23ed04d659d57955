"""Which eyegrad .tflite models to benchmark: the shipped one, ``--models`` and the manifest.

The manifest (``models/variants/variants.json``, written by ``eyegrad optimize``) may be a
list, or an object with a ``variants`` list; each entry a path or an object with
``path`` (or ``file``/``tflite``) and optionally ``name`` (or ``variant``) and other
fields, which are kept as the row's ``info``. Relative paths are relative to the manifest's folder.
Entries without a .tflite file (e.g. Keras-only steps) are listed as skipped.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from eyegrad.runtime.model import DEFAULT_MODEL

DEFAULT_MANIFEST = DEFAULT_MODEL.parent / "variants" / "variants.json"
_PATH_KEYS = ("path", "file", "tflite")
_NAME_KEYS = ("name", "variant")


class Variant(NamedTuple):
    name: str
    path: Path
    info: Dict


def _entry(raw, base: Path) -> Tuple[Optional[Variant], Optional[Dict]]:
    """A variant, or a skipped-row note, from one manifest entry."""
    if isinstance(raw, str):
        raw = {"path": raw}
    if not isinstance(raw, dict):
        return None, {"name": str(raw), "reason": "manifest entry is neither a path nor an object"}
    path = next((raw[k] for k in _PATH_KEYS if isinstance(raw.get(k), str)), None)
    name = str(next((raw[k] for k in _NAME_KEYS if raw.get(k)), None) or (Path(path).stem if path else "?"))
    if path is None or not path.endswith(".tflite"):
        return None, {"name": name, "reason": "no .tflite file in the manifest entry"}
    info = {k: v for k, v in raw.items() if k not in _PATH_KEYS + _NAME_KEYS}
    return Variant(name, (base / path).resolve(), info), None


def read_manifest(path: Path) -> Tuple[List[Variant], List[Dict]]:
    """Variants and skipped entries of a manifest file (a bad file is one skipped entry)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        return [], [{"name": str(path), "reason": f"unreadable manifest: {exc}"}]
    entries = doc.get("variants", []) if isinstance(doc, dict) else doc
    variants, skipped = [], []
    for raw in entries if isinstance(entries, list) else []:
        v, s = _entry(raw, Path(path).parent)
        variants += [v] if v else []
        skipped += [s] if s else []
    return variants, skipped


def collect(models: Sequence[str] = (), manifest: Optional[Path] = DEFAULT_MANIFEST
            ) -> Tuple[List[Variant], List[Dict]]:
    """The shipped model, then ``models``, then the manifest's variants (each file once)."""
    found = [Variant("eyegrad (shipped)", DEFAULT_MODEL.resolve(), {"shipped": True})]
    found += [Variant(Path(m).stem, Path(m).resolve(), {}) for m in models]
    skipped: List[Dict] = []
    if manifest is not None and Path(manifest).is_file():
        listed, skipped = read_manifest(Path(manifest))
        found += listed
    seen, out = set(), []
    for v in found:
        if v.path not in seen:
            seen.add(v.path)
            out.append(v)
    return out, skipped
