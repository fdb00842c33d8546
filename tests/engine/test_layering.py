"""Architecture rules as tests: which package of the engine may import which, that the
domain imports no adapter or framework, that one module moves workflows, and that the
adapters leave the commit to the use cases. Each rule also tests itself on a bad sample.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
KERNEL = {"errors", "clock", "settings"}
# the adapters and the web and worker frameworks they use: any flask*/dramatiq*/redis* module
# (flask_babel, flask_limiter, dramatiq_dashboard, redis_lock, …) and these by name
FORBIDDEN_PREFIXES = ("flask", "dramatiq", "redis")
FORBIDDEN = {"periodiq", "werkzeug", "authlib", "marshmallow", "gunicorn", "waitress", "tasks", "webui"}
# what each package of engine/ may import besides itself (kernel = errors, clock, settings)
ALLOWED = {
    "kernel": set(),
    "models": {"kernel"},
    "bpmn": {"kernel", "models"},                      # the machinery knows no context
    "infra": {"kernel", "models"},
    "people": {"kernel", "models"},
    "service_ops": {"kernel", "models", "infra", "people"},
    "process": {"kernel", "models", "bpmn", "people", "service_ops"},
    "case": {"kernel", "models", "bpmn", "people", "process", "service_ops"},  # never crisis or committee
    "committee": {"kernel", "models", "bpmn", "people", "process", "service_ops", "case"},
    "crisis": {"kernel", "models", "bpmn", "people", "process", "service_ops", "case", "committee"},
    "complaints": {"kernel", "models", "bpmn", "people", "process"},  # confidential: never through case files
    "supervision": {"kernel", "models", "bpmn", "people", "process", "case"},
}
COMPOSITION_ROOT = ENGINE / "infra" / "bootstrap.py"  # wires everything: may import any package


def imported_modules(source: str) -> set[str]:
    """Absolute module names a source imports (``from engine import clock`` gives
    ``engine.clock`` too)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def forbidden(top: str) -> bool:
    """A top-level module the engine must not import (``flask_babel`` as much as ``flask``)."""
    return top in FORBIDDEN or top.startswith(FORBIDDEN_PREFIXES)


def package_of(path: Path) -> str:
    rel = path.relative_to(ENGINE)
    if len(rel.parts) == 1:
        return "kernel" if rel.stem in KERNEL | {"__init__"} else rel.stem
    return rel.parts[0]


def engine_package(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "engine" or len(parts) == 1:
        return None
    return "kernel" if parts[1] in KERNEL else parts[1]


def layering_violations(path: Path, source: str) -> list[str]:
    own = package_of(path)
    found = []
    for module in sorted(imported_modules(source)):
        top = module.split(".")[0]
        if forbidden(top):
            found.append(f"{path.relative_to(ENGINE)} imports {module}")
            continue
        target = engine_package(module)
        if target is None or target == own or path == COMPOSITION_ROOT:
            continue
        if target not in ALLOWED.get(own, set()):
            found.append(f"{path.relative_to(ENGINE)} ({own}) imports {module} ({target})")
    return found


def engine_sources():
    for path in sorted(ENGINE.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path, path.read_text()


def test_engine_packages_import_only_in_the_allowed_directions():
    assert [v for path, source in engine_sources() for v in layering_violations(path, source)] == []


def test_every_engine_package_is_in_the_rule():
    packages = {package_of(path) for path, _ in engine_sources()}
    assert packages <= set(ALLOWED) | {"infra"}, packages - set(ALLOWED)


def test_layering_check_sees_a_wrong_direction_and_a_framework():
    case_file = ENGINE / "case" / "sample.py"
    bpmn_file = ENGINE / "bpmn" / "sample.py"
    assert layering_violations(case_file, "from engine.crisis import fanout\n") == [
        "case/sample.py (case) imports engine.crisis (crisis)",
        "case/sample.py (case) imports engine.crisis.fanout (crisis)"]
    assert layering_violations(bpmn_file, "from engine.case.records import load_case\n")
    assert layering_violations(bpmn_file, "import flask\n") == ["bpmn/sample.py imports flask"]
    for framework in ("flask_babel", "flask_sqlalchemy", "flask_limiter", "dramatiq_dashboard", "redis_lock",
                      "authlib.jose", "marshmallow"):
        assert layering_violations(bpmn_file, f"import {framework}\n") == [f"bpmn/sample.py imports {framework}"]
    assert layering_violations(ENGINE / "case" / "__init__.py", "from engine.crisis import fanout\n")
    assert layering_violations(bpmn_file, "from tasks.queue import make_task_queue\n")
    assert layering_violations(ENGINE / "crisis" / "x.py", "from engine.case import records\n") == []
    assert layering_violations(COMPOSITION_ROOT, "from engine.crisis import operations\n") == []


# -- one path for every engine step -------------------------------------------------------
# Restoring, dumping or syncing a workflow, or binding its operations, happens in these
# modules only (engine.bpmn.instance_rows holds the writes of the saved state;
# engine.bpmn.migrating_step is the step's path for a move onto another version); every other
# module goes through engine.bpmn.engine_step. The path tests'
# rehearsal runs a workflow through the runtime in memory: never an instance, never
# restored, saved or synced, no operation bound (service tasks answer from the scenario).
STEP_MODULES = {"bpmn/engine_step.py", "bpmn/migrating_step.py", "bpmn/instance_rows.py", "bpmn/runtime.py",
                "bpmn/serialization.py", "bpmn/rehearsal.py"}
STEP_CALLS = re.compile(r"runtime\.restore\(|\bload_state\(|\bdump_state\(|runtime\.dump\(|\bsync_instance\(|"
                        r"\bsync_started\(|"
                        r"operations\.bound\(|runtime\.(start|new_workflow|advance|complete|fire_timer)\(|"
                        r"\bstate_json\s*=(?!=)|[\"']state_json[\"']\s*:")  # attribute, keyword or dict key


def step_bypasses(rel: str, source: str) -> list[str]:
    if rel in STEP_MODULES:
        return []
    return [f"{rel}:{n}: {line.strip()}" for n, line in enumerate(source.splitlines(), 1)
            if STEP_CALLS.search(line) and not line.lstrip().startswith(("#", "def "))]


def test_only_the_engine_step_path_restores_runs_or_saves_a_workflow():
    found = []
    for path, source in engine_sources():
        found += step_bypasses(str(path.relative_to(ENGINE)), source)
    assert found == []


def test_the_single_path_check_sees_a_bypass():
    assert step_bypasses("crisis/fanout.py", "    workflow = runtime.restore(instance)\n")
    assert step_bypasses("process/x.py", "    instance.state_json = runtime.dump(workflow)\n")
    assert step_bypasses("bpmn/format_upgrade.py", "    .values(state_json=text, version=row.version + 1)\n")
    assert step_bypasses("process/x.py", "    session.execute(update(ProcessInstance), [{'id': 1, 'state_json': t}])\n")
    assert step_bypasses("process/x.py", "    if row.state_json == '{}':\n") == []
    assert step_bypasses("bpmn/engine_step.py", "    workflow = runtime.restore(instance)\n") == []


def test_the_steps_saving_is_called_only_through_its_public_methods():
    """How a step saves (``EngineStep._store_state``, ``_flush_and_sync`` …) is engine_step's
    own: another module saves through a public method (``save_moved``), so a change of those
    internals cannot leave a caller saving the old way."""
    found = [f"{path.relative_to(ENGINE)}:{n}: {line.strip()}" for path, source in engine_sources()
             if path.name != "engine_step.py"
             for n, line in enumerate(source.splitlines(), 1) if re.search(r"\bsteps?\b(\[\w*\])?\._[a-z]", line)]
    assert found == []


# -- the use case owns the commit -----------------------------------------------------------
ADAPTERS = (ROOT / "webui", ROOT / "tasks")
# the outbox relay marks its own rows sent in a session of its own; it is no use case
OWN_SESSION = {ROOT / "tasks" / "outbox.py"}


def adapter_commits(source: str) -> list[int]:
    return [n for n, line in enumerate(source.splitlines(), 1) if re.search(r"\.commit\(\)", line)]


def test_views_and_actors_never_commit_the_use_case_does():
    found = {str(p.relative_to(ROOT)): adapter_commits(p.read_text())
             for root in ADAPTERS for p in root.rglob("*.py") if p not in OWN_SESSION}
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_the_commit_check_sees_a_view_that_commits():
    assert adapter_commits("with uow() as work:\n    work.commit()  # the audit row\n") == [2]
