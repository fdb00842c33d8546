"""The engine's own run to the next wait state (``engine.bpmn.runtime._run_engine_tasks``)
finds each pass's ready tasks without SpiffWorkflow's iterator: the same tasks in the same
order as ``get_tasks(state=READY)``, and the search for waiting tasks after each completed
task (``engine.bpmn.tree_walks``) those of ``TaskIterator(state=WAITING)``: checked here on
every pass of a whole crisis (the BCP diagram with its subprocesses, gateways and timers, and
the fan-out's checks)."""
from __future__ import annotations

from SpiffWorkflow.util.task import TaskIterator, TaskState

from engine.bpmn import tree_walks
from tests.engine.crisis_support import add_case, check_tasks, declare, run_crisis_jobs


def test_each_pass_runs_the_ready_tasks_spiffworkflow_would_in_its_order(ctx, monkeypatch):
    passes: list[int] = []
    own = tree_walks.ready_in_tree_order

    def compared(workflow):
        found = own(workflow)
        assert [t.id for t in found] == [t.id for t in workflow.get_tasks(state=TaskState.READY)]
        passes.append(len(found))
        return found

    waiting: list[int] = []
    own_waiting = tree_walks.waiting_in_tree_order

    def compared_waiting(root):
        found = list(own_waiting(root))
        assert [t.id for t in found] == [t.id for t in TaskIterator(root, state=TaskState.WAITING)]
        waiting.append(len(found))
        return iter(found)

    monkeypatch.setattr(tree_walks, "ready_in_tree_order", compared)
    monkeypatch.setattr(tree_walks, "waiting_in_tree_order", compared_waiting)
    for n in range(3):
        add_case(ctx, f"C-{n}")
    declare(ctx)
    run_crisis_jobs(ctx)
    assert len(check_tasks(ctx)) == 3
    assert len(passes) > 10 and max(passes) >= 1
    assert len(waiting) > 10 and max(waiting) >= 1, waiting  # the BCP diagram's timers wait
