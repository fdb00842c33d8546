"""The production image installs requirements.txt only (docker/Dockerfile): every package the
application's code imports must be locked there, not only in the development lock, or the
production process fails at its first import of it (as the single sign-on client's ``requests``
once would have)."""
from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

from engine.settings import PROJECT_ROOT

APPLICATION = ("engine", "tasks", "webui")
LOCKED = re.compile(r"^([A-Za-z0-9_.-]+)==", re.MULTILINE)


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_levels() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in APPLICATION:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], path)
    return found


def test_every_package_the_application_imports_is_in_the_runtime_lock():
    locked = {_normalised(name) for name in LOCKED.findall((PROJECT_ROOT / "requirements.txt").read_text())}
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for module, where in sorted(_imported_top_levels().items()):
        if module in APPLICATION or module in sys.stdlib_module_names:
            continue
        owners = {_normalised(d) for d in distributions.get(module, [])}
        if not owners & locked:
            missing.append(f"{module} (imported by {where.relative_to(PROJECT_ROOT)}; "
                           f"from {sorted(owners) or 'no installed distribution'})")
    assert not missing, "imported but not in requirements.txt: " + "; ".join(missing)
