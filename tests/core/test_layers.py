"""The layering of the core is enforced: import-linter's contracts (pyproject.toml) must
hold, and no service reaches back to `forensics.case`, not even for type hints."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRONT_ENDS = ("forensics/cli.py", "forensics/commands/")


def test_import_contracts_hold():
    # lint-imports reads [tool.importlinter] from pyproject.toml; a new cycle or an upward
    # import (a service importing Case, the core importing Qt) fails here and in CI.
    run = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
                          " sys.exit(lint_imports_command())"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (TYPE_CHECKING blocks and functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def test_only_the_cli_imports_case():
    offenders = []
    for path in sorted((ROOT / "forensics").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "forensics/case.py" or rel.startswith(FRONT_ENDS):
            continue
        if any(m == "forensics.case" or m.startswith("forensics.case.") for m in _imports(path)):
            offenders.append(rel)
    assert offenders == []


def test_the_checks_see_a_violation(tmp_path):
    # The AST scan must catch a TYPE_CHECKING import, or the test above could never fail.
    p = tmp_path / "bad.py"
    p.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from forensics.case import Case\n")
    assert "forensics.case" in _imports(p)
