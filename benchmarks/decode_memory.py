"""Peak memory of one detection of the worst small images (issue 31), each in a fresh process.

    python benchmarks/decode_memory.py

Per case: the file's size, the verdict or error and the peak resident memory (VmHWM) above
what the process held before the detection, in MB.
"""
from __future__ import annotations

import io
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, Tuple

import cv2
import numpy as np
from PIL import Image

#: The cases: name -> the encoded file.
CASES: Dict[str, Callable[[], bytes]] = {
    "16-bit gray PNG 8000x8000": lambda: cv2.imencode(".png", np.zeros((8000, 8000), np.uint16))[1].tobytes(),
    "16-bit RGB PNG 8000x8000": lambda: cv2.imencode(".png", np.zeros((8000, 8000, 3), np.uint16))[1].tobytes(),
    "RGBA PNG 8000x8000": lambda: cv2.imencode(".png", np.zeros((8000, 8000, 4), np.uint8))[1].tobytes(),
    "RGBA PNG 64000000x1": lambda: png_line(64_000_000),
}
#: Run in a fresh process: detect the file in argv[1], print the verdict or error and the extra peak MB.
MEASURE = """
import sys
from pathlib import Path
from eyegrad.runtime import Detector
data, detector = Path(sys.argv[1]).read_bytes(), Detector()
def mb(key):
    return int(Path("/proc/self/status").read_text().split(key + ":")[1].split()[0]) // 1024
before = mb("VmRSS")
Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) restarts here
result = detector.detect(data)
print(result.error or result.verdict.value, mb("VmHWM") - before, sep="\\t")
"""


def png_line(width: int) -> bytes:
    """A one-row RGBA PNG ``width`` pixels long (OpenCV cannot write one that wide)."""
    buf = io.BytesIO()
    Image.new("RGBA", (width, 1)).save(buf, "PNG")
    return buf.getvalue()


def main() -> int:
    print(f"{'case':<28} {'file KB':>8} {'extra peak MB':>14}  result")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in CASES.items():
            path = Path(tmp) / "case.bin"
            path.write_bytes(make())
            result, extra = peak_mb(path)
            print(f"{name:<28} {path.stat().st_size // 1024:>8} {extra:>14}  {result}")
    return 0


def peak_mb(path: Path) -> Tuple[str, int]:
    """(verdict or error, extra peak MB) of detecting the file at ``path`` in a fresh process."""
    out = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, check=True)
    result, extra = out.stdout.strip().rsplit("\t", 1)
    return result, int(extra)


if __name__ == "__main__":
    sys.exit(main())
