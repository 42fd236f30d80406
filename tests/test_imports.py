"""No import circle among the modules of ``capabilities``: lazy imports inside functions count."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "capabilities"


def _type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return test is not None and "TYPE_CHECKING" in ast.unparse(test)


def imports_of(source: str, modules: set[str]) -> set[str]:
    """The package modules a module imports: relative and ``capabilities.X`` imports, at any
    depth (functions included), except under ``if TYPE_CHECKING:``."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking(child):
                for other in child.orelse:  # type: ignore[attr-defined]
                    visit_one(other)
                continue
            visit_one(child)

    def visit_one(node: ast.AST) -> None:
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                out.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
            elif node.level == 0 and node.module and node.module.split(".")[0] == "capabilities":
                parts = node.module.split(".")
                out.update(parts[1:2] if len(parts) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("capabilities."))
        visit(node)

    visit(ast.parse(source))
    return out & modules


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), and self-imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def graph_of(folder: Path) -> dict[str, set[str]]:
    files = {p.stem: p for p in folder.glob("*.py")} | {p.name: p / "__init__.py" for p in folder.iterdir() if (p / "__init__.py").is_file()}
    names = set(files)
    return {name: imports_of(path.read_text(encoding="utf-8"), names) - {"__init__"} for name, path in files.items()}


def test_the_package_has_no_import_circle() -> None:
    graph = graph_of(PACKAGE)
    assert {"_report", "_registry", "_calls", "_gate"} <= set(graph)  # the graph is read, not empty
    assert circles(graph) == []


def test_the_check_finds_a_lazy_circle_and_skips_type_checking_imports(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from .c import x\n")
    (tmp_path / "c.py").write_text("import capabilities.a\n")
    (tmp_path / "d.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .e import y\n")
    (tmp_path / "e.py").write_text("from .d import z\n")
    assert circles(graph_of(tmp_path)) == [["a", "b", "c"]]
