"""Check that a model gives the same p_fake on the old tflite-runtime 2.14 (numpy 1) as here.

Older Raspberry Pi images ship ``tflite-runtime`` 2.14 with numpy 1 instead of LiteRT.
This script builds (once) a separate virtualenv with exactly that stack, runs
``eyegrad detect --json`` there with ``EYEGRAD_INTERPRETER=tflite_runtime`` (this checkout
installed without its dependencies), runs the same command with this
environment's interpreter, and compares every image's faces and p_fake.

p_fake may differ by a few steps of the model's int8 output: LiteRT applies its default
XNNPACK delegate to int8 models and tflite-runtime 2.14 does not, and the two kernel sets
requantize differently (XNNPACK in float, TFLite's builtin kernels in fixed point). On 120
face images: up to 3 steps (52 images differ) with a trained v1 student, up to 6 (60 differ)
with a v2 stand-in; with LiteRT's delegate off (``BUILTIN_WITHOUT_DEFAULT_DELEGATES``) LiteRT
and tflite-runtime 2.14 were bit-identical on the same features, and the features themselves
agreed to 5e-7 across numpy 1/OpenCV 4.10 and numpy 2/OpenCV 4.14. So the default tolerance
is ``MAX_STEPS`` output steps (plus 1e-6 for the JSON rounding); faces must be identical.

    python -m eyegrad.optimize.check_tflite_runtime [--model M] [--venv DIR] [IMAGES...]

The first run downloads the packages (about 60 MB); later runs reuse the venv.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import venv
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from eyegrad.runtime.interpreter import INTERPRETER_ENV
from eyegrad.runtime.logs import show_progress
from eyegrad.runtime.model import DEFAULT_MODEL, EyeModel

logger = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parent.parent
#: The stack of an older Pi: tflite-runtime 2.14 needs numpy 1 (and so an OpenCV built for it).
REQUIREMENTS = ("numpy<2", "tflite-runtime==2.14.0", "opencv-python-headless>=4.8,<4.11", "pillow>=10,<14")
DEFAULT_VENV = Path(os.environ.get("EYEGRAD_CACHE", Path.home() / ".cache" / "eyegrad")) / "venv-tflite-runtime-2.14"
#: p_fake tolerance between LiteRT (XNNPACK) and tflite-runtime 2.14, in int8 output steps.
MAX_STEPS = 8
#: Written into the venv when every requirement is installed; lists them.
STAMP = "eyegrad-compat.json"


def venv_python(venv_dir: Path) -> Path:
    return venv_dir / "bin" / "python"


def venv_ready(venv_dir: Path = DEFAULT_VENV) -> bool:
    """Whether the compat venv exists with the current requirements installed."""
    stamp = venv_dir / STAMP
    return (stamp.is_file() and venv_python(venv_dir).exists()
            and json.loads(stamp.read_text()).get("requirements") == list(REQUIREMENTS))


def ensure_venv(venv_dir: Path = DEFAULT_VENV) -> Path:
    """Create the compat venv (downloads from PyPI) unless it is ready; returns its python."""
    if not venv_ready(venv_dir):
        logger.info("creating %s with %s", venv_dir, " ".join(REQUIREMENTS))
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
        subprocess.run([str(venv_python(venv_dir)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        *REQUIREMENTS], check=True)
        (venv_dir / STAMP).write_text(json.dumps({"requirements": list(REQUIREMENTS)}))
    return venv_python(venv_dir)


def versions(python: Path) -> Dict[str, str]:
    """numpy, OpenCV and tflite-runtime versions (when installed) of an interpreter."""
    code = ("import json, importlib.metadata as m\n"
            "def v(p):\n"
            "    try: return m.version(p)\n"
            "    except m.PackageNotFoundError: return None\n"
            "print(json.dumps({p: v(p) for p in ('numpy', 'opencv-python-headless', 'tflite-runtime',"
            " 'ai-edge-litert')}))")
    out = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def install_checkout(python: Path) -> None:
    """Install this checkout, without its dependencies, into the environment of ``python``."""
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--force-reinstall", str(REPO)], check=True)


def detect_json(python: Path, model: Path, images: Sequence[str], interpreter: Optional[str]) -> List[Dict]:
    """``eyegrad detect --json`` run by ``python``, one dict per image."""
    env = dict(os.environ)
    env.pop(INTERPRETER_ENV, None)
    if interpreter:
        env[INTERPRETER_ENV] = interpreter
    # Run outside the checkout: there ``python -m`` would import its ``eyegrad/`` folder, which holds
    # only the top of the package, instead of the installed one.
    proc = subprocess.run([str(python), "-m", "eyegrad", "detect", "--json", "--model", str(model),
                           *(str(Path(i).resolve()) for i in images)],
                          cwd=REPO.parent, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{python} eyegrad detect failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def output_step(model: Path) -> float:
    """One step of the model's quantized output in p_fake units (1e-6 for a float output)."""
    scale, _ = EyeModel(model).tflite.output_details["quantization"]
    return float(scale) or 1e-6


def compare(reference: List[Dict], other: List[Dict], step: float, max_steps: int = MAX_STEPS) -> Dict:
    """Per-image results of both runs: same faces, and p_fake within ``max_steps`` output steps."""
    rows = []
    for a, b in zip(reference, other):
        pa, pb = a["p_fake"], b["p_fake"]
        steps = None if pa is None or pb is None else round(abs(pa - pb) / step)
        same_faces = [f["box"] for f in a["faces"]] == [f["box"] for f in b["faces"]]
        ok = (a["path"] == b["path"] and same_faces and (pa is None) == (pb is None)
              and (steps is None or abs(pa - pb) <= max_steps * step + 1e-6))
        rows.append({"path": a["path"], "p_fake": pa, "p_fake_tflite_runtime": pb, "steps": steps,
                     "verdict": a["verdict"], "verdict_tflite_runtime": b["verdict"], "ok": ok})
    diffs = [r["steps"] for r in rows if r["steps"] is not None]
    return {"ok": len(reference) == len(other) > 0 and all(r["ok"] for r in rows), "step": step,
            "max_steps_allowed": max_steps, "max_steps": max(diffs, default=0),
            "n_differing": sum(1 for d in diffs if d),
            "verdict_changes": sum(r["verdict"] != r["verdict_tflite_runtime"] for r in rows), "images": rows}


def check(model: Path = DEFAULT_MODEL, images: Sequence[str] = ("examples",), venv_dir: Path = DEFAULT_VENV,
          max_steps: int = MAX_STEPS) -> Dict:
    """Run the model here and on tflite-runtime 2.14; the comparison with both stacks' versions."""
    compat_python = ensure_venv(venv_dir)
    install_checkout(compat_python)
    model = Path(model).resolve()
    here = detect_json(Path(sys.executable), model, images, None)
    old = detect_json(compat_python, model, images, "tflite_runtime")
    report = compare(here, old, output_step(model), max_steps)
    report.update(model=str(model), main=versions(Path(sys.executable)), compat=versions(compat_python))
    return report


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("images", nargs="*", default=["examples"], help="images or folders (default: examples)")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="where the compat virtualenv lives")
    p.add_argument("--max-steps", type=int, default=MAX_STEPS, help="p_fake tolerance in int8 output steps")
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = p.parse_args(argv)
    show_progress()
    report = check(args.model, args.images, args.venv, args.max_steps)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"main:   {report['main']}\ncompat: {report['compat']}")
        for r in report["images"]:
            if r["steps"] or not r["ok"]:
                print(f"{'differs' if r['ok'] else 'FAIL'} {r['path']}: p_fake {r['p_fake']} (here) vs "
                      f"{r['p_fake_tflite_runtime']} (tflite-runtime), {r['verdict']}/{r['verdict_tflite_runtime']}")
        print(f"{'OK' if report['ok'] else 'FAILED'}: {len(report['images'])} images, {report['n_differing']} "
              f"differ, by at most {report['max_steps']} output steps of {report['step']:.5f} "
              f"(allowed {report['max_steps_allowed']}); {report['verdict_changes']} verdict changes")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
