#!/usr/bin/env python3
"""Keep the production topology without Docker running: restart any process of it that dies.

``prodctl.py up`` starts this in the background (``pids/supervisor.pid``,
``logs/supervisor.log``) and ``prodctl.py down`` stops it first. Every ``POLL_S`` seconds it
looks at each process that should run — its pid file exists; ``prodctl.py stop NAME``
removes the file first, so a process stopped on purpose stays stopped — and starts again one
that is gone (killed, crashed, exited), after killing whatever its process group left
behind (a worker process whose main process died). A process that dies again within
``QUICK_DEATH_S`` of its start is restarted after a growing delay (1, 2, 4 … ``MAX_DELAY_S``
seconds), so a broken configuration does not spin. It does what ``Restart=always`` does for
the systemd units in docker/systemd and ``restart: unless-stopped`` in docker/compose.yaml.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from processes import alive, read_pid, signal_group, topology_lock  # beside this file (run as a script)
from prodctl import commands, saved_env, start

POLL_S = 0.2
QUICK_DEATH_S = 10.0
MAX_DELAY_S = 30.0


def _say(message: str) -> None:
    sys.stdout.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} supervisor: {message}\n")
    sys.stdout.flush()


def _reap_children() -> None:
    """Collect the exit status of processes this supervisor started, so none lingers as a zombie."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class Supervisor:
    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.env = saved_env(run_dir)
        self.started_at: dict[str, float] = {}
        self.delay: dict[str, float] = {}
        self.not_before: dict[str, float] = {}
        self.running = True

    def stop(self, *_) -> None:
        self.running = False

    def run(self) -> None:
        names = ", ".join(commands(self.env))
        _say(f"watching {names} (every {POLL_S} s)")
        while self.running:
            _reap_children()
            with topology_lock(self.run_dir):
                if not self.running:
                    break
                for name in commands(self.env):
                    self._check(name)
            time.sleep(POLL_S)
        _say("stopped")

    def _check(self, name: str) -> None:
        pid = read_pid(self.run_dir, name)
        if pid is None or alive(pid):  # stopped on purpose (no pid file), or running
            self.not_before.pop(name, None)
            return
        now = time.monotonic()
        if name not in self.not_before:  # found dead just now
            lived = now - self.started_at.get(name, float("-inf"))
            self.delay[name] = min(MAX_DELAY_S, max(1.0, 2 * self.delay.get(name, 0.5))) \
                if lived < QUICK_DEATH_S else 0.0
            self.not_before[name] = now + self.delay[name]
            if self.delay[name]:
                _say(f"{name} (pid {pid}) died {lived:.1f} s after its start: restarting it in "
                     f"{self.delay[name]:.0f} s")
        if now < self.not_before[name]:
            return
        del self.not_before[name]
        signal_group(pid, signal.SIGKILL)  # what the dead process left of its group
        new_pid = start(self.run_dir, name, self.env)
        self.started_at[name] = time.monotonic()
        _say(f"{name} (pid {pid}) died: restarted as pid {new_pid}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="supervisor.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    options = parser.parse_args()
    supervisor = Supervisor(options.run_dir.resolve())
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    supervisor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
