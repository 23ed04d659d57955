"""One ``eyegrad`` package: layers import one way, the CLI loads only the chosen command, the
shipped model is package data."""
from __future__ import annotations

import ast
import importlib.resources
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Set

import pytest

from eyegrad import cli

REPO = Path(__file__).resolve().parent.parent
#: Layer folder -> its import name and the layers it must never import.
LAYERS = {
    "edge_runtime": ("eyegrad.runtime", {"eyegrad.train", "eyegrad.optimize", "eyegrad.benchmarks"}),
    "train": ("eyegrad.train", {"eyegrad.optimize", "eyegrad.benchmarks"}),
    "optimize": ("eyegrad.optimize", {"eyegrad.benchmarks"}),
}


def imported_modules(path: Path, package: str) -> Iterator[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved against ``package``)."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            yield name
            yield from (f"{name}.{alias.name}" for alias in node.names)


def module_package(path: Path, folder: str, import_name: str) -> str:
    """The package a module of layer ``folder`` belongs to, by import name."""
    parts = path.parent.relative_to(REPO / folder).parts
    return ".".join((import_name, *parts))


@pytest.mark.parametrize("folder", sorted(LAYERS))
def test_layers_import_one_way(folder: str) -> None:
    import_name, forbidden = LAYERS[folder]
    offenders: Set[str] = set()
    for path in sorted((REPO / folder).rglob("*.py")):
        for name in imported_modules(path, module_package(path, folder, import_name)):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                offenders.add(f"{path.relative_to(REPO)} imports {name}")
    assert not offenders, "\n".join(sorted(offenders))


def test_runtime_never_names_the_training_layers() -> None:
    """Not even as a string (a dispatch table): the top-level CLI is the one place that does."""
    names = ("eyegrad.train", "eyegrad.optimize", "eyegrad.benchmarks")
    hits = [f"{p.relative_to(REPO)}" for p in (REPO / "edge_runtime").rglob("*.py")
            if any(n in p.read_text() for n in names)]
    assert not hits


def test_shipped_model_is_package_data_of_eyegrad_models() -> None:
    from eyegrad.runtime.model import DEFAULT_MODEL

    shipped = importlib.resources.files("eyegrad.models").joinpath("eyegrad.tflite")
    assert shipped.is_file()
    assert DEFAULT_MODEL.read_bytes() == shipped.read_bytes()
    assert DEFAULT_MODEL.read_bytes()[4:8] == b"TFL3"


def test_detect_imports_no_training_layer_and_no_tensorflow(sample_images) -> None:
    code = ("import sys\nfrom eyegrad.cli import main\n"
            f"assert main(['detect', '--json', {str(sample_images[0])!r}]) == 0\n"
            "loaded = [m for m in sys.modules if m.split('.')[0] == 'tensorflow' or m.startswith("
            "('eyegrad.train', 'eyegrad.optimize', 'eyegrad.benchmarks'))]\n"
            "assert not loaded, loaded\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO.parent)
    assert proc.returncode == 0, proc.stderr
    assert '"verdict"' in proc.stdout


@pytest.mark.parametrize("code", ["from eyegrad import Detector, __version__; print(__version__)",
                                  "import runpy; runpy.run_module('eyegrad', run_name='__main__')"])
def test_a_folder_named_eyegrad_in_the_working_directory_does_not_shadow_the_package(tmp_path, code) -> None:
    """A clone named ``eyegrad`` seen from its parent folder is a namespace package candidate."""
    (tmp_path / "eyegrad" / "edge_runtime").mkdir(parents=True)
    proc = subprocess.run([sys.executable, "-c", code, "--version"], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    import eyegrad

    assert eyegrad.__version__ in proc.stdout


def test_a_command_of_a_missing_extra_says_which_extra_in_one_line(monkeypatch, capsys) -> None:
    monkeypatch.setitem(cli.EXTRA_MODULES, "train", ("eyegrad_no_such_module",))
    assert cli.main(["train", "--data", "."]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "eyegrad_no_such_module" in err and "pip install 'eyegrad[train]'" in err


def test_help_lists_every_command(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in cli.COMMANDS)


def test_version_is_written_once() -> None:
    import eyegrad

    assert "version = attr: eyegrad.__version__" in (REPO / "setup.cfg").read_text()
    proc = subprocess.run([sys.executable, "-m", "eyegrad", "--version"], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == f"eyegrad {eyegrad.__version__}"
