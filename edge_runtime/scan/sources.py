"""What to scan: a folder, a text file of paths, or a glob pattern, as one list of paths."""
from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Iterable, List, Sequence

from ..datasets import MEDIA_SUFFIXES, expand_inputs
from ..errors import EyegradError

GLOB_CHARS = "*?["


def read_path_list(list_file: Path) -> List[str]:
    """Paths in a text file, one a line; blank lines and ``#`` comments are skipped.

    Relative paths are taken relative to the list file's folder.
    """
    try:
        lines = list_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EyegradError(f"cannot read path list {list_file}: {exc}") from None
    base = list_file.parent
    return [str(base / line) if not os.path.isabs(line) else line
            for line in (raw.strip() for raw in lines) if line and not line.startswith("#")]


def unique(paths: Iterable[str]) -> List[str]:
    """``paths`` in order, each (after normalisation) once."""
    seen, out = set(), []
    for p in paths:
        key = os.path.normpath(p)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def list_paths(source: str) -> List[str]:
    """The image and video paths named by ``source``: a folder (recursive), a text file of paths, or a glob.

    A file with an image or video suffix is a one-file scan. Raises EyegradError when nothing matches.
    """
    p = Path(source)
    if p.is_dir():
        paths = list(expand_inputs([source]))
    elif p.is_file():
        paths = [source] if p.suffix.lower() in MEDIA_SUFFIXES else read_path_list(p)
    elif any(c in source for c in GLOB_CHARS):
        paths = [f for f in sorted(glob.glob(source, recursive=True)) if not os.path.isdir(f)]
    else:
        raise EyegradError(f"no such folder, file or glob: {source}")
    if not paths:
        raise EyegradError(f"nothing to scan in {source}: no images or videos")
    return unique(paths)


def list_all(sources: Sequence[str]) -> List[str]:
    """The paths of every source (``list_paths``), in order, each once."""
    return unique(p for source in sources for p in list_paths(source))
