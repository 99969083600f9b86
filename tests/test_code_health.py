"""Code-health gates that ruff and mypy do not express: function size and module boundaries.

* No function longer than 60 lines in the pure core, 80 elsewhere in the shipped library (the
  dev-only emulator aside).
* No private name (``_x``) imported from another module of the shipped library.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "constructs" / "sagemaker_finetuning"
CORE = LIBRARY / "core"
SHIPPED = (LIBRARY, ROOT / "lambda_src", ROOT / "cdk_app")
CORE_LIMIT, LIBRARY_LIMIT = 60, 80


def _sources() -> list[Path]:
    return sorted(p for root in SHIPPED for p in root.rglob("*.py"))


def _functions(path: Path) -> list[tuple[str, int, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])  # decorators count (click options)
            found.append((node.name, first, node.end_lineno - first + 1))  # type: ignore[operator]
    return found


def test_functions_are_short():
    too_long = []
    for path in _sources():
        limit = CORE_LIMIT if CORE in path.parents else LIBRARY_LIMIT
        too_long += [f"{path.relative_to(ROOT)}:{line} {name}() has {n} lines (limit {limit})"
                     for name, line, n in _functions(path) if n > limit]
    assert not too_long, "\n".join(too_long)


def test_no_private_names_imported_across_modules():
    found = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                private = [a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"]
                if node.module.split(".")[0] in ("sagemaker_finetuning", "lambda_src") and private:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module} import {', '.join(private)}")
                if any(part.startswith("_") and not part.endswith("__") for part in node.module.split(".")):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} from {node.module} (a private module)")
    assert not found, "\n".join(found)


def test_the_gate_sees_the_whole_library():
    """The gates above would pass vacuously on an empty tree: they see every room."""
    rooms = {p.relative_to(LIBRARY).parts[0] for p in _sources() if LIBRARY in p.parents and len(p.relative_to(LIBRARY).parts) > 1}
    assert {"core", "storage", "access", "registry", "rewards", "workflow", "support", "tools", "cli"} <= rooms
    assert sum(len(_functions(p)) for p in _sources()) > 400
