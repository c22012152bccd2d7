"""The tests mirror the code: conftest.py files hold fixtures only, and bench/ stands on its own."""

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


def test_bench_imports_nothing_from_tests():
    offenders = {str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path)
                                                     if m == "tests" or m.startswith("tests."))
                 for path in (ROOT / "bench").rglob("*.py")}
    assert {path: found for path, found in offenders.items() if found} == {}
