"""The house rules of DESIGN.md, checked on the source with `ast` (so comments and docstrings never count).

Only static imports count: lazy re-exports through ``importlib.import_module`` are dynamic and
invisible here, and imports under ``if TYPE_CHECKING:`` never run, so they are skipped too.
A failure lists every offending place as ``path:line: what``.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "oversight"
MAX_LINES = 450

STAGES = ("oversight.refine", "oversight.mine", "oversight.audit", "oversight.intervene", "oversight.experiments")
ABOVE_FOUNDATION = ("oversight.cli", "oversight.pipelines", "oversight.web", "oversight.review", *STAGES)
FOUNDATION = ("oversight.llm", "oversight.prompts", "oversight.errors", "oversight.config")


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    path: Path
    line: int
    explicit: bool  # False: only implied, as a parent package of what was named

    def where(self) -> str:
        return f"{_show(self.path)}:{self.line}"


def _show(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _within(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@functools.cache
def find_modules(src: Path, package: str) -> dict[str, Path]:
    """Every module of ``package`` under ``src``, by dotted name (a package is its ``__init__``)."""
    modules = {}
    for path in sorted((src / package.replace(".", "/")).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except the bodies of ``if TYPE_CHECKING:`` (their ``else`` still runs)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            children: list[ast.AST] = [node.test, *node.orelse]
        else:
            children = list(ast.iter_child_nodes(node))
        stack.extend(reversed(children))


@functools.cache
def parse(path: Path) -> ast.Module:
    """A module's tree, parsed once for every rule (the planted trees of the self-tests live elsewhere)."""
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def module_imports(name: str, path: Path, modules: dict[str, Path], package: str, *,
                   type_only: bool = False) -> list[Import]:
    """The static imports of one module, at module or function level, resolved to module names.

    Imports under ``if TYPE_CHECKING:`` never run and are left out, unless ``type_only``: a layer
    rule counts them too (a type names the module it comes from).
    """
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def add(target: str, line: int, explicit: bool = True) -> None:
        if explicit:
            found.append(Import(name, target, path, line, explicit=True))
        for parent in _parents(target) + ([] if explicit else [target]):
            # the importer's own parents are initialised before it runs: not a dependency it chose
            if not _within(name, parent):
                found.append(Import(name, parent, path, line, explicit=False))

    tree = parse(path)
    for node in (ast.walk(tree) if type_only else _runtime_nodes(tree)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _within(alias.name, package):
                    add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = name.split(".") if is_package else name.split(".")[:-1]
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if not _within(base, package):
                continue
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
            # `from pkg import submodule` needs pkg only as a parent; `from pkg import name` needs its __init__
            add(base, node.lineno, explicit=len(submodules) < len(node.names))
            for submodule in submodules:
                add(submodule, node.lineno)
    return found


@functools.cache
def all_imports(src: Path, package: str, *, type_only: bool = False) -> tuple[Import, ...]:
    modules = find_modules(src, package)
    return tuple(imp for name, path in modules.items()
                 for imp in module_imports(name, path, modules, package, type_only=type_only))


def room(name: str) -> str | None:
    """The package (or top-level module) a module belongs to: ``oversight.mine.cluster`` -> ``oversight.mine``."""
    parts = name.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else None


def import_cycles(src: Path, package: str, *, by_package: bool = False) -> list[list[Import]]:
    """The strongly connected components with more than one node, each as the imports inside it.

    Nodes are modules, or with ``by_package`` the packages and top-level modules right under
    ``package`` (two modules of different packages importing each other's package is a cycle
    of the house, even when no module imports back the module that imported it).
    """
    modules = find_modules(src, package)

    def node(name: str) -> str | None:
        return room(name) if by_package else name

    imports = [i for i in all_imports(src, package)
               if i.imported in modules and node(i.imported) and node(i.importer)
               and node(i.imported) != node(i.importer)]
    graph: dict[str, set[str]] = {n: set() for m in modules if (n := node(m))}
    for imp in imports:
        graph[node(imp.importer)].add(node(imp.imported))  # type: ignore[index,arg-type]

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []

    def connect(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            components.append(component)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return [
        sorted({i for i in imports if node(i.importer) in c and node(i.imported) in c},
               key=lambda i: (i.importer, i.line))
        for c in components
        if len(c) > 1
    ]


def describe_cycles(cycles: list[list[Import]], *, by_package: bool = False) -> str:
    out = []
    for edges in cycles:
        names = sorted({(room(e.importer) if by_package else e.importer) or e.importer for e in edges})
        out.append(f"cycle among {len(names)} {'packages' if by_package else 'modules'}: {', '.join(names)}")
        out += [
            f"    {e.where()}: {e.importer} -> {e.imported}{'' if e.explicit else ' (as parent package)'}"
            for e in edges
        ]
    return "\n".join(out)


def _parsed() -> Iterator[tuple[str, Path, ast.AST]]:
    for name, path in find_modules(SRC, PACKAGE).items():
        yield name, path, parse(path)


def asyncio_run_calls(tree: ast.AST) -> list[int]:
    """Lines that call ``asyncio.run`` (also through ``import asyncio as a`` or ``from asyncio import run``)."""
    module_aliases, run_aliases = {"asyncio"}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            module_aliases |= {a.asname or a.name for a in node.names if a.name == "asyncio"}
        elif isinstance(node, ast.ImportFrom) and node.module == "asyncio":
            run_aliases |= {a.asname or a.name for a in node.names if a.name == "run"}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (isinstance(func, ast.Attribute) and func.attr == "run" and isinstance(func.value, ast.Name)
                and func.value.id in module_aliases) or (isinstance(func, ast.Name) and func.id in run_aliases):
            lines.append(node.lineno)
    return sorted(lines)


def _under(path: Path, folder: str) -> bool:
    return (SRC / PACKAGE / folder) in path.parents


def _fail_listing(headline: str, places: list[str]) -> None:
    if places:
        pytest.fail(f"{headline}\n" + "\n".join(f"  {p}" for p in places), pytrace=False)


# -- the rules ----------------------------------------------------------------------


def test_no_import_cycles() -> None:
    cycles = import_cycles(SRC, PACKAGE)
    if cycles:
        pytest.fail("import cycles in src/oversight:\n" + describe_cycles(cycles), pytrace=False)


def test_no_package_cycles() -> None:
    """Function-level imports count: a cycle through them still ties two packages into one."""
    cycles = import_cycles(SRC, PACKAGE, by_package=True)
    if cycles:
        pytest.fail("package cycles in src/oversight:\n" + describe_cycles(cycles, by_package=True), pytrace=False)


def _breaking(allowed: Callable[[str], bool], importers: tuple[str, ...] | str, *,
              type_only: bool = False) -> list[str]:
    return [
        f"{i.where()}: {i.importer} imports {i.imported}"
        for i in all_imports(SRC, PACKAGE, type_only=type_only)
        if i.explicit and _within(i.importer, importers) and not allowed(i.imported)
    ]


def test_store_imports_nothing_above_it() -> None:
    def allowed(name: str) -> bool:
        return not _within(name, PACKAGE) or _within(name, ("oversight.store", "oversight.schemas", "oversight.errors"))

    _fail_listing("store/ may import only store, schemas, errors and third-party code:",
                  _breaking(allowed, "oversight.store"))


def test_schemas_import_only_schemas_and_errors() -> None:
    def allowed(name: str) -> bool:
        return not _within(name, PACKAGE) or _within(name, ("oversight.schemas", "oversight.errors"))

    _fail_listing("schemas may import only schemas and errors:", _breaking(allowed, "oversight.schemas"))


def test_foundation_imports_no_stage_pipeline_or_edge() -> None:
    _fail_listing("llm, prompts, errors and config must not import cli, pipelines, web, review or a stage:",
                  _breaking(lambda name: not _within(name, ABOVE_FOUNDATION), FOUNDATION))


# Above the stages, from the top: the edges (cli, web, graphs), then leads and the demo, the
# review service, the pipelines. Each layer may import the ones below it, never one above.
EDGES = ("oversight.cli", "oversight.web", "oversight.__main__")
SERVICES = ("oversight.leads", "oversight.demo")


def test_the_refine_stages_sit_below_the_pipelines() -> None:
    above = ("oversight.pipelines", "oversight.review", *SERVICES, *EDGES)
    _fail_listing("refine/ may not import the pipelines, the review service, leads, the demo or an edge:",
                  _breaking(lambda name: not _within(name, above), "oversight.refine"))


def test_the_pipelines_sit_below_the_review_service() -> None:
    above = ("oversight.review", *SERVICES, *EDGES)
    _fail_listing("pipelines/ may not import the review service, leads, the demo or an edge:",
                  _breaking(lambda name: not _within(name, above), "oversight.pipelines"))


def test_the_review_service_sits_below_the_edges() -> None:
    _fail_listing("review/ may not import leads, the demo, the CLI or the web page:",
                  _breaking(lambda name: not _within(name, (*SERVICES, *EDGES)), "oversight.review"))


def test_the_report_imports_no_stage() -> None:
    """Sections are passed in. Type-only imports count: a type names the stage it comes from."""
    stages = (*STAGES, "oversight.pipelines", "oversight.review", *SERVICES, *EDGES)
    _fail_listing("report/ may not import a stage, a pipeline or a service (types included):",
                  _breaking(lambda name: not _within(name, stages), "oversight.report", type_only=True))


def test_only_the_cli_imports_the_cli() -> None:
    bad = [
        f"{i.where()}: {i.importer} imports {i.imported}"
        for i in all_imports(SRC, PACKAGE)
        if i.explicit and _within(i.imported, "oversight.cli")
        and not _within(i.importer, ("oversight.cli", "oversight.__main__"))  # `python -m oversight` is the CLI
    ]
    _fail_listing("only oversight.cli may import oversight.cli:", bad)


def test_asyncio_run_only_at_the_edges() -> None:
    bad = [
        f"{_show(path)}:{line}: asyncio.run"
        for _name, path, tree in _parsed()
        if not _under(path, "cli") and path != SRC / PACKAGE / "llm.py"
        for line in asyncio_run_calls(tree)
    ]
    _fail_listing("library code must not start an event loop (only cli/ and the llm.py sync facade may):", bad)


def _outside_store(matches: Callable[[ast.AST], bool], what: str) -> list[str]:
    """``path:line: what`` for every node outside store/ that ``matches``."""
    return [
        f"{_show(path)}:{node.lineno}: {what}"
        for _name, path, tree in _parsed()
        if not _under(path, "store")
        for node in ast.walk(tree)
        if matches(node)
    ]


def test_tables_are_declared_only_in_the_store() -> None:
    def is_table(node: ast.AST) -> bool:
        return isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Name) and node.func.id == "Table")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "Table"))

    _fail_listing("sqlalchemy Tables belong under store/:", _outside_store(is_table, "Table(...)"))


def test_nothing_outside_the_store_touches_its_engine() -> None:
    bad = _outside_store(lambda node: isinstance(node, ast.Attribute) and node.attr == "engine", ".engine")
    _fail_listing("only store/ may use the Store's engine (give the Store a method instead):", bad)


def test_only_the_project_turns_settings_into_parts() -> None:
    """Stores, LLMs and the embedded server are made from settings in project.py alone."""
    made_here = {"Store.open": ("project.py", "store"), "LLM": ("project.py", "llm.py"),
                 "LocalModelServer": ("project.py", "local.py", "cli/model.py")}

    def called(node: ast.Call) -> str:
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            return f"{func.value.id}.{func.attr}"
        return func.id if isinstance(func, ast.Name) else ""

    bad = []
    for _name, path, tree in _parsed():
        relative = path.relative_to(SRC / PACKAGE).as_posix()
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and (what := called(node)) in made_here
                    and not any(relative == allowed or relative.startswith(allowed + "/")
                                for allowed in made_here[what])):
                bad.append(f"{_show(path)}:{node.lineno}: {what}(...)")
    _fail_listing("settings become a store, an LLM or the embedded server only in project.py:", bad)


def test_modules_are_under_the_line_limit() -> None:
    sizes = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in find_modules(SRC, PACKAGE).values()}
    bad = [f"{_show(p)}: {n} lines" for p, n in sorted(sizes.items()) if n >= MAX_LINES]
    _fail_listing(f"modules of {MAX_LINES} lines or more (split them by concern):", bad)


# -- the checks can fail --------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_cycle_finder_finds_a_two_module_cycle(tmp_path: Path) -> None:
    src = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "def late():\n    from pkg import b\n",  # function level, from-import of a submodule
        "pkg/b.py": "from . import a\n",  # relative
    })
    cycles = import_cycles(src, "pkg")
    assert [sorted({e.importer for e in c}) for c in cycles] == [["pkg.a", "pkg.b"]]
    assert "pkg/a.py:2: pkg.a -> pkg.b" in describe_cycles(cycles)


def test_cycle_finder_ignores_type_checking_and_dynamic_imports(tmp_path: Path) -> None:
    src = _write(tmp_path, {
        "pkg/__init__.py": "import importlib\n"
                           "def __getattr__(name):\n    return importlib.import_module(f'pkg.{name}')\n",
        "pkg/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
        "pkg/b.py": "import pkg.a\nimport pkg\n",
    })
    assert import_cycles(src, "pkg") == []


def test_cycle_finder_counts_a_package_init_it_passes_through(tmp_path: Path) -> None:
    # pkg.c imports pkg.sub.x, which first runs pkg/sub/__init__.py, which imports pkg.c
    src = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/c.py": "import pkg.sub.x\n",
        "pkg/sub/__init__.py": "from pkg.c import thing\n",
        "pkg/sub/x.py": "",
    })
    assert [sorted({e.importer for e in c}) for c in import_cycles(src, "pkg")] == [["pkg.c", "pkg.sub"]]


def test_package_cycles_are_found_where_no_module_cycle_is(tmp_path: Path) -> None:
    src = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a/__init__.py": "",
        "pkg/a/x.py": "def late():\n    from pkg.b import y\n",  # a -> b, at function level
        "pkg/a/z.py": "",
        "pkg/b/__init__.py": "",
        "pkg/b/y.py": "",
        "pkg/b/w.py": "import pkg.a.z\n",  # b -> a, from another module
    })
    assert import_cycles(src, "pkg") == []
    cycles = import_cycles(src, "pkg", by_package=True)
    assert [sorted({room(e.importer) for e in c}) for c in cycles] == [["pkg.a", "pkg.b"]]
    assert "pkg/a/x.py:2: pkg.a.x -> pkg.b.y" in describe_cycles(cycles, by_package=True)


def test_the_tree_is_parsed_once() -> None:
    """Every rule reads the same parsed trees: one parse per file however many rules run."""
    parse.cache_clear()
    all_imports.cache_clear()
    for rule in (test_no_import_cycles, test_no_package_cycles, test_the_report_imports_no_stage,
                 test_asyncio_run_only_at_the_edges, test_tables_are_declared_only_in_the_store):
        rule()
    assert parse.cache_info().currsize == len(find_modules(SRC, PACKAGE))
    assert parse.cache_info().hits > parse.cache_info().misses


def test_asyncio_run_finder_skips_comments_and_docstrings() -> None:
    code = '"""Never asyncio.run(x) here."""\n# asyncio.run(y)\nimport asyncio as aio\nfrom asyncio import run\n' \
           "aio.run(main())\nrun(main())\n"
    assert asyncio_run_calls(ast.parse(code)) == [5, 6]


# one breach of every rule; the store's import of audit is at function level
_BROKEN_TREE = {
    "oversight/__init__.py": "",
    "oversight/store/__init__.py": "from oversight.store.s import Store\n",
    "oversight/store/s.py": "class Store:\n    def f(self):\n        from oversight.audit import run\n",
    "oversight/audit/__init__.py": "",
    "oversight/audit/run.py": "import asyncio\nfrom sqlalchemy import Table\nfrom oversight.store import Store\n"
                              "T = Table('t')\ndef go(store):\n    asyncio.run(store.engine.connect())\n",
    "oversight/schemas/__init__.py": "from oversight.config import Settings\n",
    "oversight/config.py": "from oversight.cli import main\n",
    "oversight/cli/__init__.py": "main = None\n",
    "oversight/big.py": "x = 1\n" * MAX_LINES,
    # refine -> pipelines -> review -> refine: a package cycle without a module cycle
    "oversight/refine/__init__.py": "",
    "oversight/refine/a.py": "from oversight.pipelines import p\n",
    "oversight/refine/b.py": "",
    "oversight/pipelines/__init__.py": "",
    "oversight/pipelines/p.py": "def f():\n    from oversight.review import s\n",
    "oversight/review/__init__.py": "",
    "oversight/review/s.py": "from oversight.web import app\n",
    "oversight/review/t.py": "from oversight.refine import b\n",
    "oversight/web/__init__.py": "",
    "oversight/web/app.py": "",
    "oversight/report/__init__.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from oversight.mine.x import R\n",
    "oversight/mine/__init__.py": "",
    "oversight/mine/x.py": "",
}


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (test_no_import_cycles, "oversight.audit.run, oversight.store, oversight.store.s"),
        (test_store_imports_nothing_above_it, "store/s.py:3: oversight.store.s imports oversight.audit.run"),
        (test_schemas_import_only_schemas_and_errors,
         "schemas/__init__.py:1: oversight.schemas imports oversight.config"),
        (test_foundation_imports_no_stage_pipeline_or_edge, "config.py:1: oversight.config imports oversight.cli"),
        (test_only_the_cli_imports_the_cli, "config.py:1: oversight.config imports oversight.cli"),
        (test_asyncio_run_only_at_the_edges, "audit/run.py:6: asyncio.run"),
        (test_tables_are_declared_only_in_the_store, "audit/run.py:4: Table(...)"),
        (test_nothing_outside_the_store_touches_its_engine, "audit/run.py:6: .engine"),
        (test_modules_are_under_the_line_limit, f"big.py: {MAX_LINES} lines"),
        (test_no_package_cycles, "cycle among 3 packages: oversight.pipelines, oversight.refine, oversight.review"),
        (test_the_refine_stages_sit_below_the_pipelines, "refine/a.py:1: oversight.refine.a imports oversight.pipelines.p"),
        (test_the_pipelines_sit_below_the_review_service,
         "pipelines/p.py:2: oversight.pipelines.p imports oversight.review.s"),
        (test_the_review_service_sits_below_the_edges, "review/s.py:1: oversight.review.s imports oversight.web.app"),
        (test_the_report_imports_no_stage, "report/__init__.py:3: oversight.report imports oversight.mine.x"),
    ],
)
def test_each_rule_fails_on_a_tree_that_breaks_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  rule: Callable[[], None], expected: str) -> None:
    monkeypatch.setitem(globals(), "SRC", _write(tmp_path, _BROKEN_TREE))
    with pytest.raises(pytest.fail.Exception) as failed:
        rule()
    assert expected in str(failed.value)
