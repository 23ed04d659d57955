"""The bad-input corpus (tests/data/make_bad_corpus.py) through decode, the Detector and the CLI.

Every case gets a one-line ``error`` result or a verdict when the image is valid; the
batch goes on; ``eyegrad detect`` exits 1 and prints no traceback. The decode checks at
the end make sure the odd-but-valid images decode to the right gray, not just to something.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Optional

import numpy as np
import pytest
from PIL import Image

from eyegrad.runtime.datasets import IMAGE_SUFFIXES
from eyegrad.runtime.decode import decode_bytes, decode_image
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.errors import InputError

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))
import make_bad_corpus as corpus  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
VERDICTS = {"real", "fake", "uncertain", "no_face"}
CASES: Dict[str, corpus.Case] = {c.name: c for c in corpus.CASES}


def expected_error(case: corpus.Case) -> Optional[str]:
    """The case's expected error; root reads a chmod-000 file, so for root it is a valid image."""
    return None if case.name == "unreadable.jpg" and AS_ROOT else case.expect


def skip_unreadable_as_root(name: str) -> None:
    if name == "unreadable.jpg" and AS_ROOT:
        pytest.skip("running as root: a chmod 000 file is still readable, so 'permission denied' cannot happen")


@pytest.fixture(scope="module")
def bad_dir(tmp_path_factory) -> Path:
    """The corpus, written once into a temporary folder."""
    out = tmp_path_factory.mktemp("bad")
    corpus.make_corpus(out)
    return out


def assert_one_line(msg: Optional[str]) -> None:
    assert msg and "\n" not in msg and "Traceback" not in msg, repr(msg)


@pytest.mark.parametrize("name", CASES)
def test_decode_case(bad_dir: Path, name: str) -> None:
    """decode_image gives 2-D uint8 gray for a valid case and a one-line InputError otherwise."""
    skip_unreadable_as_root(name)
    expect = expected_error(CASES[name])
    if expect is None:
        gray = decode_image(bad_dir / name)
        assert gray.dtype == np.uint8 and gray.ndim == 2 and gray.size > 0
    else:
        with pytest.raises(InputError) as info:
            decode_image(bad_dir / name)
        assert_one_line(str(info.value))
        assert expect in str(info.value)


def test_detector_batch_goes_on(bad_dir: Path, detector: Detector) -> None:
    """One Detector over the whole corpus: one JSON-ready result per case, in order, none raising."""
    results = [detector.detect(bad_dir / name) for name in CASES]
    for name, r in zip(CASES, results):
        d = json.loads(json.dumps(r.to_dict()))
        assert d["path"] == str(bad_dir / name)
        expect = expected_error(CASES[name])
        if expect is None:
            assert d["verdict"] in VERDICTS and d["error"] is None, (name, d)
        else:
            assert d["verdict"] == "error" and d["p_fake"] is None and d["faces"] == [], (name, d)
            assert_one_line(d["error"])
            assert expect in d["error"], (name, d["error"])


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eyegrad", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def assert_clean_stderr(stderr: str) -> None:
    """No traceback and no Python warning: only the interpreter's own INFO lines may appear."""
    assert "Traceback" not in stderr, stderr
    assert "Warning" not in stderr, stderr


def test_cli_detect_every_case(bad_dir: Path) -> None:
    """`eyegrad detect --json` on every case: a result line per case, exit code 1, no traceback."""
    proc = run_cli("detect", "--json", *CASES, cwd=bad_dir)
    assert proc.returncode == 1, proc.stderr
    assert_clean_stderr(proc.stderr)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["path"] for r in rows] == list(CASES)
    for row in rows:
        expect = expected_error(CASES[row["path"]])
        assert (row["verdict"] == "error") == (expect is not None), row
        if expect is not None:
            assert_one_line(row["error"])
            assert expect in row["error"], row


def test_cli_detect_folder(bad_dir: Path) -> None:
    """`eyegrad detect FOLDER` goes through every image file of the corpus folder."""
    proc = run_cli("detect", "--json", str(bad_dir), cwd=REPO)
    assert proc.returncode == 1, proc.stderr
    assert_clean_stderr(proc.stderr)
    names = [Path(json.loads(line)["path"]).name for line in proc.stdout.splitlines()]
    assert names == sorted(n for n in CASES if Path(n).suffix in IMAGE_SUFFIXES and (bad_dir / n).is_file())


def test_cli_valid_images_exit_0() -> None:
    """The exit code is 0 when no input was an error (so 1 above really comes from the bad inputs)."""
    proc = run_cli("detect", "--json", "examples/", cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert_clean_stderr(proc.stderr)
    assert all(json.loads(line)["verdict"] in VERDICTS for line in proc.stdout.splitlines())


# -- odd but valid images decode to the right gray ---------------------------------------


def face_gray() -> np.ndarray:
    return np.asarray(corpus.face().convert("L"))


def test_exif_rotation_is_applied(bad_dir: Path, detector: Detector) -> None:
    """The sideways-stored face comes out upright (shape and pixels) and its face is found."""
    upright = face_gray()
    stored = Image.open(bad_dir / "exif_rotated.jpg")
    assert stored.size == (upright.shape[0], upright.shape[1])  # stored sideways: w, h swapped
    gray = decode_image(bad_dir / "exif_rotated.jpg")
    assert gray.shape == upright.shape
    assert np.abs(gray.astype(int) - upright).mean() < 4  # JPEG loss only
    assert detector.detect(bad_dir / "exif_rotated.jpg").verdict in {"real", "fake", "uncertain"}


@pytest.mark.parametrize("orientation, display", [
    (1, lambda a: a), (2, lambda a: a[:, ::-1]), (3, lambda a: a[::-1, ::-1]), (4, lambda a: a[::-1]),
    (5, lambda a: a.T), (6, lambda a: np.rot90(a, -1)), (7, lambda a: np.rot90(a, 2).T), (8, lambda a: np.rot90(a, 1)),
])
def test_every_exif_orientation(orientation: int, display) -> None:
    """Each of the 8 EXIF orientations gives exactly the displayed pixels (lossless PNG)."""
    stored = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    exif = Image.Exif()
    exif[corpus.ORIENTATION] = orientation
    data = corpus.encode(Image.fromarray(stored), "PNG", exif=exif.tobytes())
    np.testing.assert_array_equal(decode_bytes(data), display(stored))


def test_16bit_scaling(bad_dir: Path) -> None:
    """16-bit samples map to 8 bits by /257 (65535 -> 255), whatever the image's own range."""
    ramp = decode_image(bad_dir / "gray16.png")
    assert np.abs(ramp[0].astype(int) - np.arange(256)).max() <= 1
    dark = corpus.encode(Image.fromarray(np.full((8, 8), 1000, np.uint16)), "PNG")
    assert set(np.unique(decode_bytes(dark))) == {4}  # 1000 / 257 = 3.9: dark stays dark


@pytest.mark.parametrize("name, tolerance", [("gray.png", 0), ("cmyk.jpg", 2), ("palette.png", 20)])
def test_colour_modes_match_the_face(bad_dir: Path, name: str, tolerance: float) -> None:
    """Gray, CMYK and palette versions of the face decode to (nearly) the face's own gray."""
    diff = np.abs(decode_image(bad_dir / name).astype(int) - face_gray())
    assert diff.mean() <= tolerance, (name, diff.mean())


def test_alpha_composited_on_white(bad_dir: Path) -> None:
    """Black with an alpha ramp: opaque black on the left, white where transparent on the right."""
    row = decode_image(bad_dir / "alpha.png")[0].astype(int)
    assert row[0] == 0 and row[-1] == 255
    assert np.all(np.diff(row) >= 0)


def test_animated_gif_first_frame_and_tiny_images(bad_dir: Path) -> None:
    assert abs(int(decode_image(bad_dir / "animated.gif").mean()) - 30) <= 1
    assert decode_image(bad_dir / "one_pixel.png").shape == (1, 1)
    assert decode_image(bad_dir / "thin.png").shape == (1, 4000)


def test_path_bytes_and_array_agree(bad_dir: Path) -> None:
    """A path, its bytes and the same pixels as a BGR array decode to the same gray."""
    path = bad_dir / "gray.png"
    from_path = decode_image(path)
    np.testing.assert_array_equal(from_path, decode_image(path.read_bytes()))
    np.testing.assert_array_equal(from_path, decode_image(memoryview(path.read_bytes())))
    rgb = np.asarray(Image.open(io.BytesIO(path.read_bytes())).convert("RGB"))
    np.testing.assert_array_equal(from_path, decode_image(np.ascontiguousarray(rgb[:, :, ::-1])))


def test_bad_paths_are_input_errors(tmp_path: Path) -> None:
    """Paths the OS cannot even look up (NUL byte, over-long name) are InputErrors, not crashes."""
    for bad in ("bad\x00name.jpg", str(tmp_path / ("x" * 5000)), tmp_path / "no" / "such" / "dir.jpg"):
        with pytest.raises(InputError) as info:
            decode_image(bad)
        assert_one_line(str(info.value))
