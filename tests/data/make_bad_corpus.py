"""Write the bad-input corpus: one path per way an input image can be broken or unusual.

Usage: ``python tests/data/make_bad_corpus.py [OUT_DIR]`` (default ``tests/data/bad/``, git-ignored).

The corpus is deterministic (fixed seeds, built from ``examples/``) and takes under a second
to write, so the tests build it into a temporary folder once per session instead of keeping
it in git: several cases cannot live in git anyway (an unreadable file, a symlink loop, a
sparse file over the size limit, a missing path).

Each :class:`Case` says whether the input is a valid image (it must get a ``real``, ``fake``,
``uncertain`` or ``no_face`` verdict) or not (an ``error`` result whose one-line message
contains ``expect``).
"""
from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path
from typing import Callable, List, NamedTuple, Optional

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
#: An upright face photo (from examples/) that the photo-like cases are made from.
FACE = REPO / "examples" / "real_mesonet_00240.jpg"
DEFAULT_OUT = Path(__file__).resolve().parent / "bad"
#: Size of the sparse file that exceeds decode.MAX_FILE_BYTES (100 MiB).
HUGE_FILE_BYTES = 101 * 1024 * 1024
#: A valid image just over decode.MAX_PIXELS (64 M pixels).
OVER_LIMIT_SIZE = (8200, 8000)
#: EXIF tag number of the orientation.
ORIENTATION = 0x0112
#: Grey border that makes the face photo non-square (so a missed rotation changes the shape).
FACE_PAD = (32, 0)


class Case(NamedTuple):
    """One corpus entry: file name, what it is, what the runtime must say, and its writer."""

    name: str
    note: str
    expect: Optional[str]  # None: a valid image; else a substring of the one-line error
    write: Callable[[Path], None]


def encode(img: Image.Image, fmt: str, **save_args) -> bytes:
    """``img`` encoded in ``fmt`` with PIL."""
    buf = io.BytesIO()
    img.save(buf, fmt, **save_args)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header(width: int, height: int) -> bytes:
    """PNG signature and IHDR of an 8-bit grayscale image of any declared size."""
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))


def blank_png(width: int, height: int) -> bytes:
    """A complete, valid black grayscale PNG, compressed row by row (no full-size buffer)."""
    z = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0 + black pixels
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    return png_header(width, height) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def bomb_png() -> bytes:
    """A PNG that declares 100000 x 100000 pixels but holds 1 kB of pixel data."""
    return png_header(100_000, 100_000) + png_chunk(b"IDAT", zlib.compress(bytes(1000))) + png_chunk(b"IEND", b"")


def face() -> Image.Image:
    """The upright face photo, padded left and right with grey so it is wider than tall."""
    img = Image.open(FACE).convert("RGB")
    canvas = Image.new("RGB", (img.width + 2 * FACE_PAD[0], img.height + 2 * FACE_PAD[1]), (128, 128, 128))
    canvas.paste(img, FACE_PAD)
    return canvas


def face_jpeg() -> bytes:
    return encode(face(), "JPEG", quality=90)


def face_png() -> bytes:
    return encode(face(), "PNG")


def exif_rotated() -> bytes:
    """The face stored turned 90 degrees counter-clockwise, tagged orientation 6 (turn 90 CW to view)."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    return encode(face().transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif.tobytes())


def corrupt_exif() -> bytes:
    """The face JPEG with an EXIF block whose IFD runs past its end."""
    junk = np.random.default_rng(81).bytes(30)
    return encode(face(), "JPEG", quality=90, exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff" + junk)


def animated_gif() -> bytes:
    frames = [Image.new("L", (64, 48), v) for v in (30, 120, 220)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)


def gray16() -> bytes:
    """A 16-bit horizontal ramp 0..65535 over 256 columns (decodes to the 8-bit ramp 0..255)."""
    ramp = np.linspace(0, 65535, 256).round().astype(np.uint16)
    return encode(Image.fromarray(np.tile(ramp, (32, 1))), "PNG")


def alpha_png() -> bytes:
    """Black RGB with an alpha ramp: opaque at the left, transparent (shows white) at the right."""
    rgba = np.zeros((32, 64, 4), np.uint8)
    rgba[:, :, 3] = np.linspace(255, 0, 64).round().astype(np.uint8)
    return encode(Image.fromarray(rgba, "RGBA"), "PNG")


def heic_like() -> bytes:
    """An ISO-BMFF 'ftyp heic' header, as phones write: a real format the runtime does not read."""
    return struct.pack(">I", 24) + b"ftypheic" + bytes(4) + b"mif1heic" + bytes(200)


def cut(make: Callable[[], bytes], keep: float) -> Callable[[], bytes]:
    """The start of ``make()``: the first ``keep`` bytes, or that fraction of them when below 1."""
    def made() -> bytes:
        full = make()
        return full[: int(len(full) * keep) if keep < 1 else int(keep)]
    return made


def data(make: Callable[[], bytes]) -> Callable[[Path], None]:
    """A writer that stores ``make()`` at the path."""
    return lambda path: path.write_bytes(make())


def sparse(size: int) -> Callable[[Path], None]:
    """A writer of a sparse file of ``size`` bytes (takes no disk space)."""
    def write(path: Path) -> None:
        with open(path, "wb") as f:
            f.truncate(size)
    return write


def unreadable(path: Path) -> None:
    path.write_bytes(face_jpeg())
    path.chmod(0o000)


def nothing(path: Path) -> None:
    """The missing-file case: the path is left absent."""


CASES: List[Case] = [
    Case("zero_byte.jpg", "an empty file", "empty", data(bytes)),
    Case("truncated.jpg", "a JPEG cut at 40%", "truncated", data(cut(face_jpeg, 0.4))),
    Case("truncated.png", "a PNG cut in its pixel data", "truncated", data(cut(face_png, 0.5))),
    Case("truncated_header.png", "a PNG cut inside its header", "not a supported image format",
         data(cut(face_png, 30))),
    Case("text.jpg", "a text file named .jpg", "not a supported image format",
         data(lambda: b"This is not a picture of a face.\n" * 20)),
    Case("random.jpg", "random bytes named .jpg", "not a supported image format",
         data(lambda: np.random.default_rng(8).bytes(4096))),
    Case("bomb.png", "a PNG declaring 100000x100000 pixels (decompression bomb)", "too large", data(bomb_png)),
    Case("over_pixel_limit.png", "a valid {}x{} PNG, over the pixel limit".format(*OVER_LIMIT_SIZE), "too large",
         data(lambda: blank_png(*OVER_LIMIT_SIZE))),
    Case("huge_file.jpg", "a sparse file over the file size limit", "file too large", sparse(HUGE_FILE_BYTES)),
    Case("unknown_format.heic", "a HEIC header (a format the runtime does not read)",
         "not a supported image format", data(heic_like)),
    Case("one_pixel.png", "a 1x1 image", None, data(lambda: encode(Image.new("L", (1, 1), 128), "PNG"))),
    Case("thin.png", "a 4000x1 image", None, data(lambda: encode(Image.new("L", (4000, 1), 128), "PNG"))),
    Case("gray16.png", "a 16-bit grayscale ramp", None, data(gray16)),
    Case("cmyk.jpg", "a CMYK JPEG of the face", None, data(lambda: encode(face().convert("CMYK"), "JPEG", quality=90))),
    Case("palette.png", "a palette (P mode) PNG of the face", None, data(lambda: encode(face().convert("P"), "PNG"))),
    Case("animated.gif", "a 3-frame animated GIF", None, data(animated_gif)),
    Case("exif_rotated.jpg", "the face stored sideways with EXIF orientation 6", None, data(exif_rotated)),
    Case("corrupt_exif.jpg", "the face JPEG with a garbage EXIF block", None, data(corrupt_exif)),
    Case("gray.png", "an 8-bit grayscale PNG of the face", None, data(lambda: encode(face().convert("L"), "PNG"))),
    Case("alpha.png", "an RGBA PNG with an alpha ramp", None, data(alpha_png)),
    Case("folder.jpg", "a directory named like an image", "directory", lambda p: p.mkdir()),
    Case("missing.jpg", "a path that does not exist", "no such file", nothing),
    Case("unreadable.jpg", "a valid JPEG without read permission", "permission denied", unreadable),
    Case("symlink_loop.jpg", "a symlink that points to itself", "symbolic links", lambda p: p.symlink_to(p.name)),
]


def make_corpus(out: Path) -> List[Case]:
    """Write every case into ``out`` (created; cases already there are replaced) and list them."""
    out.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        path = out / case.name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            path.rmdir()
        case.write(path)
    return CASES


def main(argv: List[str]) -> int:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    for case in make_corpus(out):
        print(f"{case.name:<22} {'valid' if case.expect is None else 'error':<6} {case.note}")
    print(f"wrote {len(CASES)} cases to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
