"""No import cycles inside shoprec: every import statement counts, in functions too (a cycle hidden in
a function is still a cycle in the design). Static: reads the source, imports nothing."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "shoprec"


def _modules(src: Path, package: str) -> dict[str, Path]:
    modules = {}
    for path in (src / package).rglob("*.py"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def import_graph(src: Path = SRC, package: str = PACKAGE) -> dict[str, set[str]]:
    """Module -> the modules of `package` it imports (a package's `__init__` counts as the package)."""
    modules = _modules(src, package)

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[: len(here) - node.level + 1] + [node.module or ""]) if node.level else node.module or ""
                targets = [base.strip("."), *(f"{base.strip('.')}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in targets:
                found = resolve(target) if target.split(".")[0] == package else None
                if found and found != name and not name.startswith(found + ".") and found != package:
                    graph[name].add(found)
    return graph


def test_the_graph_sees_the_package() -> None:
    graph = import_graph()
    assert len(graph) > 100
    assert "shoprec.models.base" in graph["shoprec.models.ease"]  # a plain `from ... import`
    assert "shoprec.ranking.learn" in graph["shoprec.ranking.plan"]


def test_a_planted_cycle_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from ..a import g  # inside a function\n")
    graph = import_graph(tmp_path, "pkg")
    with pytest.raises(CycleError):
        TopologicalSorter(graph).prepare()


def test_shoprec_has_no_import_cycle() -> None:
    try:
        TopologicalSorter(import_graph()).prepare()
    except CycleError as error:
        cycle = " -> ".join(error.args[1])
        pytest.fail(f"import cycle inside shoprec: {cycle} (break it: move what both need into a module of its own)")
