"""Describe the machine a benchmark ran on: CPU, cores, OS and library versions."""
from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Dict, Optional

#: Distributions whose versions matter for the timings (absent ones are left out).
PACKAGES = ("numpy", "opencv-python-headless", "opencv-python", "pillow", "ai-edge-litert", "tflite-runtime",
            "tensorflow", "tensorflow-cpu", "tf-keras", "matplotlib")


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU (or board) model from /proc/cpuinfo, else what ``platform`` knows."""
    fields: Dict[str, str] = {}
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip().lower(), value.strip())
    except OSError:
        pass
    cpu = fields.get("model name") or fields.get("cpu model") or platform.processor() or platform.machine()
    board = fields.get("model")  # Raspberry Pi: "Raspberry Pi 5 Model B Rev 1.0"
    return f"{board} ({cpu})" if board and not board.isdigit() else cpu


def package_versions() -> Dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def load_average() -> Optional[list]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def describe() -> Dict:
    """CPU model, cores, OS, Python, library versions and the load when the run started."""
    return {"machine": platform.machine(), "cpu": cpu_model(), "cores": os.cpu_count(),
            "os": platform.platform(), "python": platform.python_version(),
            "packages": package_versions(), "load_average": load_average()}
