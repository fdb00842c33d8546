"""The production image installs requirements.txt only (docker/Dockerfile): every package the
application's code imports must be locked there, not only in the development lock, or the
production process fails at its first import of it (as the single sign-on client's ``requests``
once would have).

And what is imported is declared: a package the application imports is named in
requirements.in (not only pulled in by another, which may drop it in any release), one the
tests or benchmarks import in requirements.in or requirements-dev.in; every package
requirements.in names is imported, or is there for a reason given in ``NOT_IMPORTED``."""
from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

from engine.settings import PROJECT_ROOT

APPLICATION = ("engine", "tasks", "webui")
TESTS_AND_BENCHMARKS = ("tests", "bench")
FIRST_PARTY = {*APPLICATION, *TESTS_AND_BENCHMARKS, "_support", "queue_support"}  # bench/ imports its own by name
LOCKED = re.compile(r"^([A-Za-z0-9_.-]+)==", re.MULTILINE)
DECLARED = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==", re.MULTILINE)
# declared in requirements.in, imported by no module, and why
NOT_IMPORTED = {
    "gunicorn": "the production server, a command (docker/)",
    "psycopg": "the PostgreSQL driver SQLAlchemy loads from a postgresql+psycopg:// URL",
}


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_levels(packages: tuple[str, ...] = APPLICATION) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in packages:
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
    missing = _undeclared(APPLICATION, locked)
    assert not missing, "imported but not in requirements.txt: " + "; ".join(missing)


def _declared(*files: str) -> set[str]:
    return {_normalised(name) for file in files for name in DECLARED.findall((PROJECT_ROOT / file).read_text())}


def _undeclared(packages: tuple[str, ...], declared: set[str]) -> list[str]:
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for module, where in sorted(_imported_top_levels(packages).items()):
        if module in FIRST_PARTY or module in sys.stdlib_module_names:
            continue
        owners = {_normalised(d) for d in distributions.get(module, [])}
        if not owners & declared:
            missing.append(f"{module} (imported by {where.relative_to(PROJECT_ROOT)}; "
                           f"from {sorted(owners) or 'no installed distribution'})")
    return missing


def test_every_package_the_application_imports_is_declared_in_requirements_in():
    missing = _undeclared(APPLICATION, _declared("requirements.in"))
    assert not missing, "imported but not declared in requirements.in: " + "; ".join(missing)


def test_every_package_the_tests_and_benchmarks_import_is_declared():
    missing = _undeclared(TESTS_AND_BENCHMARKS, _declared("requirements.in", "requirements-dev.in"))
    assert not missing, "imported but not in requirements.in or requirements-dev.in: " + "; ".join(missing)


def test_every_runtime_requirement_is_imported_or_has_a_reason():
    distributions = importlib.metadata.packages_distributions()
    imported = {_normalised(d) for module in _imported_top_levels() for d in distributions.get(module, [])}
    unused = sorted(_declared("requirements.in") - imported - set(NOT_IMPORTED))
    assert not unused, f"declared in requirements.in but imported nowhere: {unused}"
