"""Find labelled images in a folder that holds real and fake subfolders."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple, Union

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm"}
#: What ``eyegrad detect``, ``evaluate`` and ``scan`` read: images and video files.
MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES
#: Accepted spellings of the class folders (case-insensitive).
REAL_NAMES = ("real", "training_real", "original", "originals", "pristine")
FAKE_NAMES = ("fake", "training_fake", "df", "deepfake", "deepfakes", "manipulated")


def is_video(path: Union[str, os.PathLike]) -> bool:
    """Whether ``path`` names a video file (by its suffix)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def iter_files(root: Path, suffixes: Sequence[str]) -> Iterator[Path]:
    """Files under ``root`` (recursive, sorted) whose suffix is one of ``suffixes``."""
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in suffixes and p.is_file():
            yield p


def class_dirs(root: Path) -> Tuple[Optional[Path], Optional[Path]]:
    """The real and fake subfolders of ``root``, by any accepted spelling."""
    real = fake = None
    for child in sorted(root.iterdir()) if root.is_dir() else []:
        name = child.name.lower()
        if child.is_dir() and name in REAL_NAMES and real is None:
            real = child
        elif child.is_dir() and name in FAKE_NAMES and fake is None:
            fake = child
    return real, fake


def labelled_files(root: Path, suffixes: Sequence[str] = tuple(IMAGE_SUFFIXES)) -> List[Tuple[Path, int]]:
    """(path, label) pairs under ``root``'s real (0) and fake (1) folders.

    Raises ValueError when ``root`` has neither a real nor a fake folder.
    """
    real, fake = class_dirs(Path(root))
    if real is None and fake is None:
        raise ValueError(f"{root} has no real/ or fake/ folder (also accepted: "
                         f"{', '.join(REAL_NAMES[1:] + FAKE_NAMES[1:])})")
    out: List[Tuple[Path, int]] = []
    for folder, label in ((real, 0), (fake, 1)):
        if folder is not None:
            out.extend((p, label) for p in iter_files(folder, suffixes))
    return out


def expand_inputs(paths: List[str], keep_empty_folders: bool = False) -> Iterator[str]:
    """Files as given, and the images and videos inside folders (recursive, sorted).

    Paths that do not exist are passed through so that they get an error result; so are
    folders without any image or video when ``keep_empty_folders`` is set.
    """
    for raw in paths:
        p = Path(raw)
        files = [str(f) for f in iter_files(p, MEDIA_SUFFIXES)] if p.is_dir() else []
        if files:
            yield from files
        elif keep_empty_folders or not p.is_dir():
            yield raw
