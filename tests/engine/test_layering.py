"""The domain core imports no web framework and no task queue."""
import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
FORBIDDEN = {"flask", "flask_login", "flask_smorest", "flask_wtf", "dramatiq", "periodiq", "werkzeug"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_engine_imports_neither_flask_nor_dramatiq():
    offenders = {str(p.relative_to(ENGINE)): sorted(_imports(p) & FORBIDDEN)
                 for p in ENGINE.rglob("*.py") if _imports(p) & FORBIDDEN}
    assert offenders == {}


def test_layering_check_sees_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom flask import Flask\n")
    assert _imports(bad) & FORBIDDEN == {"flask"}
