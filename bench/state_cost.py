"""state_cost: what saving and restoring an instance's state costs per step.

Drives one ``bench_case_loop`` instance (bench/workflows: a follow-up and its review looping in
one instance, the worst case for a state's size) with SpiffWorkflow alone, and after 15 steps and
after 200 steps measures the dump (workflow -> JSON text, spec left out) and the restore (text ->
workflow) the persisted engine does, with the standard library's json (what it used) and with
orjson (``engine.bpmn.serialization`` now), in the same run. A hot instance
(``engine.bpmn.runtime_hot``) skips the restore altogether. Prints one line:

    state_cost: 15 steps 9 KB dump 0.9->0.4 ms restore 1.2->0.8 ms; 200 steps ...; orjson/json ratio ...

No database.
"""
from __future__ import annotations

import json
import logging
import time

from _support import sqlite_url  # noqa: F401 - puts the project on the path
from SpiffWorkflow.util.task import TaskState

from engine.bpmn import serialization, spec_parsing
from engine.bpmn.runtime import ProcessRuntime
from engine.infra import bootstrap  # noqa: F401 - the composition root registers the operations
from engine.settings import PROJECT_ROOT

BENCH_WORKFLOWS = PROJECT_ROOT / "bench" / "workflows"
REPEAT = 30


def _stdlib_dump(workflow) -> str:
    registry = serialization._registry
    registry._encoder_mode = True
    try:
        dct = registry.convert(workflow)
    finally:
        registry._encoder_mode = False
    dct["format"] = serialization.STATE_FORMAT
    return json.dumps(dct, cls=serialization._encoder, separators=(",", ":"))


def _stdlib_load(text: str, spec, subprocess_specs):
    dct = json.loads(text)
    dct.pop("format", None)
    return serialization._registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)


def _time(fn, *args) -> float:
    """The best of REPEAT runs, in ms (the least disturbed by others on a shared machine)."""
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        fn(*args)
        samples.append(time.perf_counter() - started)
    return min(samples) * 1000


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    bundle = spec_parsing.parse_bundle(spec_parsing.load_directory(BENCH_WORKFLOWS))
    parsed = bundle.processes["bench_case_loop"]
    spec, subs = parsed.spec, parsed.subprocess_specs
    runtime = ProcessRuntime()
    from SpiffWorkflow.bpmn import BpmnWorkflow
    workflow = BpmnWorkflow(spec, subs, script_engine=runtime.script_engine)
    workflow.do_engine_steps()
    parts, ratios = [], []
    steps = 0
    for checkpoint in (15, 200):
        while steps < checkpoint:
            [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
            task.data.update({"contact_made": True})
            task.run()
            workflow.do_engine_steps()
            steps += 1
        text = serialization.dump_state(workflow)
        assert _stdlib_load(_stdlib_dump(workflow), spec, subs) is not None
        dump_json, dump_or = _time(_stdlib_dump, workflow), _time(serialization.dump_state, workflow)
        load_json = _time(_stdlib_load, text, spec, subs)
        load_or = _time(serialization.load_state, text, spec, subs)
        ratios.append((dump_or + load_or) / (dump_json + load_json))
        parts.append(f"{checkpoint} steps {len(text) // 1024} KB: dump {dump_json:.2f}->{dump_or:.2f} ms, "
                     f"restore {load_json:.2f}->{load_or:.2f} ms (json->orjson)")
    print("state_cost: " + "; ".join(parts) + f"; orjson/json ratio {ratios[0]:.2f} and {ratios[1]:.2f}; "
          "a hot instance restores nothing")


if __name__ == "__main__":
    main()
