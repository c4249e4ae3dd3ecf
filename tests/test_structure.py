"""The house rules of the code's structure (docs/architecture.md): no import cycle between
modules, imports at any depth included (a function-level import hides a cycle, it does not remove
one); the library (kaohe/) never imports the orchestration (assets/, pipelines/); the sample-data
generator imports nothing from its own package root."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGES = ("kaohe", "assets", "pipelines")


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports, anywhere in the file (``from a.b import c``: a.b.c
    when c is a module, else a.b)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in known else base)
    return {m for m in out if m in known and m != name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
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

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_modules():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_library_never_imports_the_orchestration():
    bad = {(m, d) for m, deps in graph().items() if m.startswith("kaohe")
           for d in deps if d.split(".")[0] in ("assets", "pipelines")}
    assert bad == set()


def test_the_generator_imports_nothing_from_its_package_root():
    """``from kaohe.generate import x`` inside the package runs the root (which imports the
    whole generator) from within one of its own modules: the modules import each other."""
    bad = set()
    for name, path in modules().items():
        if not name.startswith("kaohe.generate."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (
                    node.module == "kaohe.generate" or (node.level == 1 and not node.module)):
                bad.add(name)
    assert bad == set()


def test_no_module_over_400_lines_and_no_sql_model_over_200():
    long_modules = {name: n for name, path in modules().items()
                    if (n := len(path.read_text(encoding="utf-8").splitlines())) > 400}
    long_sql = {str(p.relative_to(ROOT)): n for p in (ROOT / "sql").rglob("*.sql")
                if (n := len(p.read_text(encoding="utf-8").splitlines())) > 200}
    assert long_modules == {} and long_sql == {}


def test_every_package_says_what_it_owns():
    bare = [name for name, path in modules().items()
            if path.name == "__init__.py" and name.startswith("kaohe")
            and not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))]
    assert bare == []


def test_what_is_scorable_comes_from_the_dictionaries_only():
    # no hand-kept list of scorable metrics in the code: the dictionaries' `scorable` entries
    from kaohe.config.types import SCORABLE
    from kaohe.dictionaries import scorable_metrics

    assert SCORABLE == scorable_metrics() and len(SCORABLE) > 30
    code = (ROOT / "kaohe" / "config" / "types.py").read_text(encoding="utf-8")
    assert '"recovery_rate"' not in code and "'recovery_rate'" not in code
