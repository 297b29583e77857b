"""skhash's modules import one another without cycles, and none imports ``__main__``.

The import graph is read from the source (every ``import`` statement, also
those inside functions, except under ``if TYPE_CHECKING:``): an edge goes
from a module to each skhash module it names. A module importing
``skhash.__main__`` would run the command line's module as a library, and a
cycle makes the import order matter; both are rejected.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "skhash"


def _modules():
    """``{dotted name: path}`` of every module of skhash."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imports(name, path, modules):
    """The skhash modules that module ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node):
            if "TYPE_CHECKING" in ast.unparse(node.test):
                for child in node.orelse:
                    self.visit(child)
            else:
                self.generic_visit(node)

        def visit_Import(self, node):
            found.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in modules else module)

    Visitor().visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in modules and m != name}


def _graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_graph_is_read_right():
    graph = _graph()
    assert "skhash.benchmark.registry" in graph["skhash.benchmark"]
    assert "skhash.benchmark.runner" in graph["skhash.benchmark.compare"]  # from . import runner
    assert "skhash" in graph["skhash.benchmark.results"]  # from .. import __version__
    assert "skhash.benchmark" in graph["skhash.__main__"]
    # a cycle is found
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_main():
    importers = [name for name, imported in _graph().items() if "skhash.__main__" in imported]
    assert importers == []


def test_no_import_cycles():
    assert _cycles(_graph()) == []
