"""The package's structure: the grading path reads top to bottom without an import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "helpers"


def _modules() -> dict[str, Path]:
    """Every module of ``helpers`` by its dotted name (a package by its ``__init__.py``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of ``helpers`` it imports, wherever in the module the import statement sits
    (an import inside a function closes a cycle as surely as one at the top)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:  # `from helpers.instructor import judge` imports a module
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]], within: str) -> list[list[str]]:
    """The import cycles among the modules whose names start with ``within``, each as a path that
    returns to its start."""
    nodes = {name for name in graph if name == within or name.startswith(within + ".")}
    found, state = [], {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for other in sorted(graph[name] & nodes):
            if state.get(other) == "open":
                found.append(path[path.index(other) :] + [other])
            elif other not in state:
                visit(other, path + [other])
        state[name] = "done"

    for name in sorted(nodes):
        if name not in state:
            visit(name, [name])
    return found


def test_the_cycle_finder_sees_a_cycle_through_an_import_inside_a_function():
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert cycles(graph, "p") == [["p.a", "p.b", "p.c", "p.a"]]
    assert cycles({"p.a": {"p.b"}, "p.b": set()}, "p") == []


def test_the_instructor_layer_has_no_import_cycle():
    """execute owns the kernel's client; the judge asks it to run scratch cells and never the reverse."""
    graph = import_graph()
    assert "helpers.instructor.judge" in graph["helpers.instructor.grading"]  # the graph is read at all
    assert "helpers.instructor.execute" in graph["helpers.instructor.judge"]
    assert cycles(graph, "helpers.instructor") == []


def test_only_execute_drives_the_notebook_client():
    """One place imports nbclient, sets its timeouts and runs cells: the judge goes through ``ScratchKernel``."""
    for path in sorted((PACKAGE / "instructor").glob("*.py")):
        if path.name == "execute.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(n.split(".")[0] in ("nbclient", "jupyter_client") for n in names), (
                    f"{path.name} imports {names}: the kernel's client belongs to helpers.instructor.execute"
                )
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("execute_cell", "timed_out")
                and isinstance(node.ctx, ast.Store if node.attr == "timed_out" else ast.Load)
            ):
                raise AssertionError(
                    f"{path.name}, line {node.lineno}: .{node.attr} drives nbclient; "
                    "ask helpers.instructor.execute instead"
                )


def test_the_readme_layout_names_every_module_of_helpers_in_one_line():
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    listed = [line.split("`")[1] for line in section.splitlines() if line.startswith("- `helpers/")]
    modules = sorted(p.relative_to(PACKAGE.parent).as_posix() for p in PACKAGE.rglob("*.py"))
    assert sorted(set(listed)) == sorted(listed), "a module is listed twice"
    assert sorted(listed) == modules, "README's Layout section: add or remove these lines"
