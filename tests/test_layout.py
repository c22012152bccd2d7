"""The tests mirror the code: conftest.py files hold fixtures only, and bench/ stands on its own.

What both start (PostgreSQL, gunicorn, dockerd) is in harness/, which imports neither.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_no_test_module_imports_a_conftest():
    offenders = {str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m.endswith("conftest"))
                 for path in (ROOT / "tests").rglob("*.py")}
    assert {path: found for path, found in offenders.items() if found} == {}


def imports_from(folder: str, packages: tuple[str, ...]) -> dict[str, list[str]]:
    """Return the modules under folder that import from any of packages, with what they import."""
    offenders = {str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path)
                                                     if m in packages or m.startswith(tuple(f"{p}." for p in packages)))
                 for path in (ROOT / folder).rglob("*.py")}
    return {path: found for path, found in offenders.items() if found}


def test_bench_imports_nothing_from_tests():
    assert imports_from("bench", ("tests",)) == {}


def test_the_shared_harness_imports_neither_tests_nor_bench():
    assert imports_from("harness", ("tests", "bench")) == {}


def test_tests_take_the_shared_harness_not_the_benchmark():
    assert imports_from("tests", ("bench",)) == {}
