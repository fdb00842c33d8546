"""The garbage collector of a service process (``engine.infra.garbage_collection``): what the
booted process holds is frozen, young passes are rarer, and cyclic garbage is still freed."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.settings import PROJECT_ROOT, Settings

PROGRAM = textwrap.dedent("""\
    import gc, sys, weakref
    from engine.infra.garbage_collection import tune_for_service
    from engine.settings import Settings
    booted = [[object()] for _ in range(1000)]  # what a booted service holds
    tuned = tune_for_service(Settings.from_env({"GC_YOUNG_THRESHOLD": sys.argv[1]}))

    class Node:  # a parent and child pointing at each other, as SpiffWorkflow's tasks do
        pass
    alive = set()
    most = 0
    for n in range(200_000):
        parent, child = Node(), Node()
        parent.child, child.parent = child, parent
        alive.add(n)
        weakref.finalize(parent, alive.discard, n)
        del parent, child
        most = max(most, len(alive))
    print(tuned, gc.get_threshold()[0], gc.get_freeze_count() >= 1000, most)
    """)


def _run(threshold: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROGRAM, threshold], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120, check=True)
    return result.stdout.split()


def test_a_service_process_freezes_what_it_booted_with_and_still_frees_cyclic_garbage():
    tuned, young, frozen, most_alive = _run("10000")
    assert (tuned, young, frozen) == ("True", "10000", "True")
    # 200,000 parent-child cycles dropped one after another: the young passes free them as
    # they come, a few thousand at a time at most, not all at the end
    assert int(most_alive) < 20_000


def test_gc_young_threshold_zero_leaves_pythons_own_collector():
    tuned, young, frozen, _ = _run("0")
    assert (tuned, young, frozen) == ("False", "700", "False")


def test_the_threshold_is_read_from_the_environment_with_a_default():
    assert Settings.from_env({}).gc_young_threshold == 10_000
    assert Settings.from_env({"GC_YOUNG_THRESHOLD": "2500"}).gc_young_threshold == 2500


@pytest.mark.parametrize("entry_point, booted", [("webui/wsgi.py", "create_app(settings)"),
                                                 ("tasks/worker.py", "make_task_queue("),
                                                 ("webui/__main__.py", "app = create_app()")])
def test_every_service_entry_point_tunes_the_collector_once_booted(entry_point, booted):
    source = Path(PROJECT_ROOT, entry_point).read_text()
    assert 0 < source.index(booted) < source.index("tune_for_service(")
