"""No test waits on a real clock: leases, claims and sessions run on a clock the test moves.

Every lease (review leases, drafting claims, the mine lock) and every web session is measured
by ``store.clock``; a test sets it to ``tests.support.clock.Clock`` and moves it instead of
sleeping until something runs out. The rule kept here is the simplest one that holds that line:
no real sleep under tests/ longer than ``MAX_SLEEP`` seconds, or of a length the code does not
spell out, except the few in ``ALLOWED``, each with its reason. (A short sleep that lets another
thread or task run is fine; a lease cannot run out in 0.2 s unless a test makes it that short.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
MAX_SLEEP = 0.2  # seconds

# (file under tests/, the function the sleep is in): why it may sleep longer, or for a computed time
ALLOWED = {
    ("test_graph_server.py", "wait_until_up"): "polls a `langgraph dev` process while it starts (no lease)",
    ("support/stub_server.py", "do_POST"): "the stub model's latency, which each test sets (0.02 s at most)",
    ("test_llm.py", "fake"): "0.001 s times the batches still to come (0.01 s at most): later batches answer first",
}

_SLEEPING_MODULES = {"time", "asyncio", "anyio", "trio"}


def real_sleeps(tree: ast.AST) -> list[tuple[int, str, float | None]]:
    """(line, enclosing function, seconds or None when not a literal) of each real sleep in a module.

    A sleep is ``time.sleep``, ``asyncio.sleep`` (or anyio's, trio's), also through ``import time
    as t`` or ``from time import sleep``, and Playwright's ``wait_for_timeout`` (milliseconds).
    """
    modules, functions = set(_SLEEPING_MODULES), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name in _SLEEPING_MODULES}
        elif isinstance(node, ast.ImportFrom) and node.module in _SLEEPING_MODULES:
            functions |= {a.asname or a.name for a in node.names if a.name == "sleep"}
    found: list[tuple[int, str, float | None]] = []

    def visit(node: ast.AST, where: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            where = node.name
        if isinstance(node, ast.Call) and node.args:
            func, scale = node.func, None
            if isinstance(func, ast.Attribute) and func.attr == "wait_for_timeout":
                scale = 0.001
            elif (isinstance(func, ast.Attribute) and func.attr == "sleep" and isinstance(func.value, ast.Name)
                  and func.value.id in modules) or (isinstance(func, ast.Name) and func.id in functions):
                scale = 1.0
            if scale is not None:
                arg = node.args[0]
                literal = isinstance(arg, ast.Constant) and isinstance(arg.value, int | float)
                found.append((node.lineno, where, float(arg.value) * scale if literal else None))  # type: ignore[union-attr]
        for child in ast.iter_child_nodes(node):
            visit(child, where)

    visit(tree, "<module>")
    return sorted(found)


def long_sleeps(root: Path) -> dict[tuple[str, str], list[str]]:
    """Sleeps longer than MAX_SLEEP (or of unstated length) in the .py files under ``root``, by (file, function)."""
    out: dict[tuple[str, str], list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        if name.startswith("fixtures/"):
            continue
        for line, where, seconds in real_sleeps(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if seconds is None or seconds > MAX_SLEEP:
                length = "a length the code computes" if seconds is None else f"{seconds:g} s"
                out.setdefault((name, where), []).append(f"tests/{name}:{line} in {where}(): sleeps {length}")
    return out


def test_no_test_sleeps_on_a_real_clock() -> None:
    found = long_sleeps(TESTS)
    breaking = [place for key, places in found.items() if key not in ALLOWED for place in places]
    if breaking:
        pytest.fail("real sleeps longer than 0.2 s in tests (move a fake clock instead: tests/support/clock.py,"
                    " `store.clock = Clock()`; or add the place to ALLOWED with its reason):\n"
                    + "\n".join(f"  {p}" for p in breaking), pytrace=False)
    stale = sorted(f"{file} {function}()" for file, function in ALLOWED if (file, function) not in found)
    assert not stale, f"ALLOWED names places that no longer sleep long: {stale}"


def test_the_finder_catches_a_planted_sleep(tmp_path: Path) -> None:
    (tmp_path / "test_planted.py").write_text(
        "import asyncio\nimport time as clock\nfrom time import sleep as nap\n\n\n"
        "def test_lease_runs_out():\n    clock.sleep(1.2)\n    clock.sleep(0.05)\n    nap(2)\n\n\n"
        "async def test_expiry(page, delay):\n    await asyncio.sleep(0.4)\n    await asyncio.sleep(delay)\n"
        "    page.wait_for_timeout(500)\n    page.wait_for_timeout(100)\n")
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "data.py").write_text("import time\ntime.sleep(5)\n")  # data, not a test
    assert long_sleeps(tmp_path) == {
        ("test_planted.py", "test_lease_runs_out"): [
            "tests/test_planted.py:7 in test_lease_runs_out(): sleeps 1.2 s",
            "tests/test_planted.py:9 in test_lease_runs_out(): sleeps 2 s"],
        ("test_planted.py", "test_expiry"): [
            "tests/test_planted.py:13 in test_expiry(): sleeps 0.4 s",
            "tests/test_planted.py:14 in test_expiry(): sleeps a length the code computes",
            "tests/test_planted.py:15 in test_expiry(): sleeps 0.5 s"],
    }
