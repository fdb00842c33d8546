"""`dramatiq tasks.worker` / `periodiq tasks.worker`: the module the production processes load."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from engine.settings import PROJECT_ROOT

PROBE = """
import json
import tasks.worker as w
from periodiq import PeriodiqMiddleware
print(json.dumps({
    "periodic": {a.actor_name: str(a.options["periodic"]) for a in w.broker.actors.values() if "periodic" in a.options},
    "actors": sorted(w.broker.actors),
    "periodiq_middleware": any(isinstance(m, PeriodiqMiddleware) for m in w.broker.middleware),
    "middleware": [type(m).__name__ for m in w.broker.middleware],
}))
"""


def test_the_worker_module_declares_the_sweep_deadline_and_count_check_jobs_periodic(tmp_path):
    """periodiq finds exactly the periodic jobs: the sweep and the deadline notices every minute
    by default, the check of the dashboard's kept case counts once a day; the incident
    recorder runs after Retries; each worker process sweeps once when it boots."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'w.db'}", "INSTANCE_DIR": str(tmp_path),
           "REDIS_URL": "", "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("SWEEP_CRON", None)
    env.pop("DEADLINE_CRON", None)
    env.pop("COUNTS_CHECK_CRON", None)
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, cwd=PROJECT_ROOT,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["periodic"] == {"sweep_timers": "* * * * *", "check_deadlines": "* * * * *",
                                 "check_case_counts": "40 3 * * *"}
    assert {"fire_timer", "sweep_timers", "relay_outbox", "retry_incident", "send_notification_email",
            "check_deadlines", "check_case_counts"} <= set(found["actors"])
    assert found["periodiq_middleware"]
    order = found["middleware"]
    assert order.index("IncidentRecorder") < order.index("Retries")  # after-hooks run in reverse
