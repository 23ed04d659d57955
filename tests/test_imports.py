"""The runtime's import graph has no circle, counting the imports made only for type checking."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

RUNTIME = Path(__file__).resolve().parent.parent / "edge_runtime"


def module_name(path: Path) -> str:
    """``edge_runtime/camera/loop.py`` -> ``camera.loop``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(RUNTIME).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path, modules: Set[str]) -> Set[str]:
    """The runtime modules that the file ``path`` imports (see ``imports_in``)."""
    return imports_in(path.read_text(), module_name(path), path.name == "__init__.py", modules)


def imports_in(source: str, me: str, is_package: bool, modules: Set[str]) -> Set[str]:
    """The runtime modules that module ``me`` imports anywhere in its ``source`` (``TYPE_CHECKING``
    blocks and function bodies included): relative imports, and absolute ones of ``edge_runtime`` /
    ``eyegrad.runtime``."""
    package = me.split(".") if is_package else me.split(".")[:-1]
    found: Set[str] = set()

    def add(name: str) -> None:
        # "a.b.c" may be a module or a name in module "a.b": keep the longest that is a module
        parts = name.split(".")
        for n in range(len(parts), 0, -1):
            candidate = ".".join(parts[:n])
            if candidate in modules:
                found.add(candidate)
                return

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                prefix = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.split(".")[0] == "edge_runtime":
                prefix = node.module[len("edge_runtime"):].lstrip(".")
            elif node.module and node.module.startswith("eyegrad.runtime"):
                prefix = node.module[len("eyegrad.runtime"):].lstrip(".")
            else:
                continue
            for alias in node.names:
                add(f"{prefix}.{alias.name}" if prefix else alias.name)
            if prefix:
                add(prefix)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                for root in ("edge_runtime", "eyegrad.runtime"):
                    if alias.name == root or alias.name.startswith(root + "."):
                        add(alias.name[len(root):].lstrip("."))
    found.discard(me)
    return found


def import_graph() -> Dict[str, Set[str]]:
    """Each runtime module -> the runtime modules it imports."""
    paths = sorted(RUNTIME.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, modules) for p in paths}


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_sees_relative_absolute_and_type_checking_imports() -> None:
    graph = import_graph()
    assert {"detector", "results", "video", "video_verdict", "camera.loop"} <= set(graph)
    assert "results" in graph["detector"] and "detector" in graph["camera.loop"]  # from ..detector import
    source = """
from typing import TYPE_CHECKING
from . import boxes
from .sources import FrameSource
import eyegrad.runtime.errors
from edge_runtime.video import VideoFile
if TYPE_CHECKING:
    from ..detector import Detector
def late():
    from ..timing import STAGES
"""
    assert imports_in(source, "camera.loop", False, set(graph)) == {
        "camera", "camera.sources", "errors", "video", "detector", "timing"}
    assert "boxes" not in imports_in(source, "camera.loop", False, set(graph))  # . is camera/: no camera.boxes


def test_no_runtime_module_is_in_an_import_circle() -> None:
    assert cycles(import_graph()) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_results_import_no_scorer() -> None:
    assert import_graph()["results"] <= {"boxes"}
