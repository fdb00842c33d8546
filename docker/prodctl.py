#!/usr/bin/env python3
"""Run the production topology on one machine, without Docker.

The same processes as docker/compose.yaml, against a PostgreSQL and a Redis that are
already running:

    prodctl.py up       create the database if needed, migrate, deploy workflows/ (and
                        seed the demo users when DEMO=1), then start in the background
                        web (gunicorn 'webui.wsgi:app'), worker-1..N (`dramatiq
                        tasks.worker`) and sweeper (`periodiq tasks.worker`), and the
                        supervisor (docker/supervisor.py) that restarts any of them that
                        dies; waits until /healthz says "ok" and every worker is ready
    prodctl.py down     stop the supervisor, then them (gracefully, SIGKILL after --grace
                        seconds); --drop-db also drops the database
    prodctl.py start N  start one process: web, sweeper or worker-<n> (already running: waits
                        until it is ready)
    prodctl.py stop N   stop one process gracefully (SIGKILL after --grace seconds); the
                        supervisor leaves it stopped until `start`
    prodctl.py kill N   kill -9 one process and its children (a crash drill: the supervisor
                        restarts it)
    prodctl.py status   which processes run
    prodctl.py stop|start supervisor   pause or resume the restarting of dead processes

Stopping is graceful: one SIGTERM to each process's main process only (never its whole
process group: dramatiq's main process passes the signal on to its worker process once, and
a second one would kill it at once). A worker then finishes its running jobs (for up to
WORKER_SHUTDOWN_TIMEOUT_MS), hands its delayed messages back to Redis and exits; only what
is still running after --grace seconds is killed.

Everything lives under the run directory (``--run-dir``, default instance/prod):
``pids/<name>.pid``, ``logs/<name>.log``, ``env.json`` (the environment ``up`` used,
so ``start`` brings a process back exactly as it was) and ``secret_key``.

Settings come from the environment (or the options): DATABASE_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/casework), REDIS_URL (default
redis://127.0.0.1:6379/0), SECRET_KEY (generated into the run directory if unset),
PORT (8000), HOST (127.0.0.1), WORKERS (2), WORKER_THREADS (4), WEB_WORKERS (2), DEMO,
WORKER_SHUTDOWN_TIMEOUT_MS (20000), STOP_GRACE (30), dramatiq_queue_prefetch (the thread
count: each worker process holds only the messages it runs, so every worker takes a share
of a fan-out) and anything else Settings/QueueSettings read (SMTP_URL, DUE_SOON_HOURS,
JOB_VISIBILITY_SECONDS, HEARTBEAT_SECONDS, ...).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from processes import (  # beside this file (run as a script), as topology_db
    alive,
    group_alive,
    log_file,
    pid_file,
    read_pid,
    signal_group,
    signal_parent,
    topology_lock,
    wait_dead,
)
from topology_db import drop_database, ensure_database

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
BIN = Path(sys.executable).parent
DEFAULTS = {
    "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/casework",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "PORT": "8000",
    "HOST": "127.0.0.1",
    "WORKERS": "2",
    "WORKER_THREADS": "4",
    "WEB_WORKERS": "2",
    "STARTUP_TIMEOUT": "90",
    # how often an idle dramatiq worker polls Redis (ms): bounds the lag of delayed timers
    "dramatiq_worker_timeout": "200",
    # how long a stopping worker lets its running jobs finish (ms); below STOP_GRACE
    "WORKER_SHUTDOWN_TIMEOUT_MS": "20000",
}
READY_LINE = "Worker process is ready for action."
START_MARK = "starting "  # the line start() writes into a process's log before each start
SUPERVISOR = "supervisor"


class TopologyError(RuntimeError):
    pass


def _say(message: str) -> None:
    sys.stderr.write(f"prodctl: {message}\n")
    sys.stderr.flush()


# -- the environment ----------------------------------------------------------------
def build_env(run_dir: Path, options: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in DEFAULTS.items():
        env.setdefault(key, value)
    for key, attr in (("PORT", "port"), ("WORKERS", "workers"), ("WORKER_THREADS", "threads"),
                      ("WEB_WORKERS", "web_workers"), ("DATABASE_URL", "database_url"), ("REDIS_URL", "redis_url")):
        value = getattr(options, attr, None)
        if value is not None:
            env[key] = str(value)
    env.setdefault("dramatiq_queue_prefetch", env["WORKER_THREADS"])
    if not env.get("SECRET_KEY"):
        secret_file = run_dir / "secret_key"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_hex(32))
            secret_file.chmod(0o600)
        env["SECRET_KEY"] = secret_file.read_text().strip()
    env.update({"APP_ENV": "production", "IN_PROCESS_WORKER": "0", "DEPLOY_ON_START": "0",
                "PYTHONPATH": str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
                "PYTHONUNBUFFERED": "1"})
    return env


def saved_env(run_dir: Path) -> dict[str, str]:
    path = run_dir / "env.json"
    if not path.exists():
        raise TopologyError(f"{run_dir} has no env.json: run `prodctl.py up` first")
    return json.loads(path.read_text())


def commands(env: dict[str, str]) -> dict[str, list[str]]:
    """Every process of the topology by name."""
    procs = {
        "web": [str(BIN / "gunicorn"), "webui.wsgi:app", "--bind", f"{env['HOST']}:{env['PORT']}",
                "--workers", env["WEB_WORKERS"], "--access-logfile", "-", "--graceful-timeout", "20",
                "--no-control-socket"],
        "sweeper": [str(BIN / "periodiq"), "tasks.worker"],
    }
    for n in range(1, int(env["WORKERS"]) + 1):
        procs[f"worker-{n}"] = [str(BIN / "dramatiq"), "tasks.worker", "--processes", "1",
                                "--threads", env["WORKER_THREADS"],
                                "--worker-shutdown-timeout", env.get("WORKER_SHUTDOWN_TIMEOUT_MS", "20000")]
    return procs


# -- processes ----------------------------------------------------------------------
def start(run_dir: Path, name: str, env: dict[str, str] | None = None) -> int:
    env = env or saved_env(run_dir)
    procs = commands(env)
    if name not in procs:
        raise TopologyError(f"no process {name!r} (known: {', '.join(procs)})")
    if alive(read_pid(run_dir, name)):
        raise TopologyError(f"{name} is running already (pid {read_pid(run_dir, name)})")
    log = log_file(run_dir, name).open("ab")
    log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {START_MARK}{name}\n".encode())
    log.flush()
    proc = subprocess.Popen(procs[name], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    pid_file(run_dir, name).write_text(str(proc.pid))
    return proc.pid


def kill(run_dir: Path, name: str) -> None:
    """kill -9 the process and everything it started (its process group)."""
    pid = read_pid(run_dir, name)
    if not alive(pid):
        raise TopologyError(f"{name} is not running")
    signal_group(pid, signal.SIGKILL)
    wait_dead(pid, 10)


def stop(run_dir: Path, name: str, grace: float) -> None:
    stop_all(run_dir, [name], grace)


def stop_all(run_dir: Path, names: list[str], grace: float) -> None:
    """SIGTERM the main process of every named process (in this order; their pid files go
    first, so the supervisor leaves them stopped), wait for all of them and their children
    together, SIGKILL the process groups still there after ``grace`` seconds."""
    with topology_lock(run_dir):
        pids = {name: read_pid(run_dir, name) for name in names}
        for name in names:
            pid_file(run_dir, name).unlink(missing_ok=True)
    running = {name: pid for name, pid in pids.items() if pid is not None and (alive(pid) or group_alive(pid))}
    for pid in running.values():
        signal_parent(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, pid in running.items():
        if not wait_dead(pid, max(0.0, deadline - time.monotonic())):
            _say(f"{name} did not stop within {grace:.0f} s: killing it")
            signal_group(pid, signal.SIGKILL)
            wait_dead(pid, 10)


# -- readiness -----------------------------------------------------------------------
def wait_healthy(env: dict[str, str], timeout: float) -> dict:
    url = f"http://{env['HOST']}:{env['PORT']}/healthz"
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body = json.loads(response.read())
                if response.status == 200 and body.get("status") == "ok":
                    return body
                last = f"{response.status} {body}"
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError) as err:
            last = str(err)
        time.sleep(0.2)
    raise TopologyError(f"{url} not healthy after {timeout:.0f} s: {last}")


def wait_worker_ready(run_dir: Path, name: str, since: int, timeout: float) -> None:
    """Wait for dramatiq's "ready for action" line written after byte ``since`` of the log
    and after the latest start there (a restart by the supervisor meanwhile counts)."""
    path = log_file(run_dir, name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with path.open("rb") as log:
            log.seek(since)
            written = log.read()
        latest = written.rfind(f"{START_MARK}{name}\n".encode())
        if READY_LINE.encode() in (written[latest:] if latest >= 0 else written):
            return
        if not alive(read_pid(run_dir, name)):
            raise TopologyError(f"{name} exited during start-up; see {path}")
        time.sleep(0.1)
    raise TopologyError(f"{name} not ready after {timeout:.0f} s; see {path}")


def start_worker(run_dir: Path, name: str, env: dict[str, str] | None = None) -> int:
    """Start one worker and wait until it consumes."""
    env = env or saved_env(run_dir)
    log = log_file(run_dir, name)
    since = log.stat().st_size if log.exists() else 0
    pid = start(run_dir, name, env)
    wait_worker_ready(run_dir, name, since, float(env["STARTUP_TIMEOUT"]))
    return pid


def ensure_started(run_dir: Path, name: str) -> int:
    """``prodctl start NAME``: start it, or — running already (the supervisor may have
    restarted it first) — leave it; a worker is waited for until it is ready."""
    env = saved_env(run_dir)
    with topology_lock(run_dir):
        pid = read_pid(run_dir, name)
        running = alive(pid)
        if not running:
            log = log_file(run_dir, name)
            since = log.stat().st_size if log.exists() else 0
            pid = start(run_dir, name, env)
    if name.startswith("worker-"):
        wait_worker_ready(run_dir, name, 0 if running else since, float(env["STARTUP_TIMEOUT"]))
    if running:
        _say(f"{name} is running already (pid {pid})")
    return pid or 0


def start_supervisor(run_dir: Path, env: dict[str, str]) -> int:
    log = log_file(run_dir, SUPERVISOR).open("ab")
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("supervisor.py")), "--run-dir",
                             str(run_dir)], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    pid_file(run_dir, SUPERVISOR).write_text(str(proc.pid))
    return proc.pid


def stop_supervisor(run_dir: Path) -> None:
    pid = read_pid(run_dir, SUPERVISOR)
    if alive(pid):
        assert pid is not None
        signal_parent(pid, signal.SIGTERM)
        if not wait_dead(pid, 10):
            signal_group(pid, signal.SIGKILL)
    pid_file(run_dir, SUPERVISOR).unlink(missing_ok=True)


def _run_steps(env: dict[str, str], *steps: str) -> None:
    """Run operator commands (``python -m webui.cli <step>``) one after the other, in one
    interpreter (saves an import of the whole app per step)."""
    script = ("import sys\nfrom webui.cli import main\n"
              f"for step in {list(steps)!r}:\n"
              "    code = main([step])\n"
              "    if code:\n"
              "        sys.exit(f'webui.cli {step} failed with exit code {code}')\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise TopologyError(f"`python -m webui.cli` ({', '.join(steps)}) failed:\n{result.stderr}{result.stdout}")


# -- commands ----------------------------------------------------------------------------
def up(run_dir: Path, options: argparse.Namespace) -> dict[str, str]:
    for sub in ("pids", "logs"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    env = build_env(run_dir, options)
    running = [name for name in [*commands(env), SUPERVISOR] if alive(read_pid(run_dir, name))]
    if running:
        raise TopologyError(f"already running from {run_dir}: {', '.join(running)} (prodctl.py down first)")
    (run_dir / "env.json").write_text(json.dumps(env, indent=1, sort_keys=True))
    (run_dir / "env.json").chmod(0o600)
    started = time.monotonic()
    if ensure_database(env["DATABASE_URL"]):
        _say("created the database")
    steps = ["migrate", "deploy"]
    if env.get("DEMO", "").strip().lower() in ("1", "true", "yes", "on"):
        steps.append("seed-demo")
    _run_steps(env, *steps)
    timeout = float(env["STARTUP_TIMEOUT"])
    offsets = {}
    for name in commands(env):
        log = log_file(run_dir, name)
        offsets[name] = log.stat().st_size if log.exists() else 0
        start(run_dir, name, env)
    start_supervisor(run_dir, env)
    try:
        health = wait_healthy(env, timeout)
        for name in commands(env):
            if name.startswith("worker-"):
                wait_worker_ready(run_dir, name, offsets[name], timeout)
    except TopologyError:
        down(run_dir, grace=5)
        raise
    _say(f"up in {time.monotonic() - started:.1f} s: http://{env['HOST']}:{env['PORT']} "
         f"({health.get('database_backend')}, {env['WORKERS']} worker(s)); logs in {run_dir / 'logs'}")
    return env


def down(run_dir: Path, grace: float, drop_db: bool = False) -> None:
    env = saved_env(run_dir) if (run_dir / "env.json").exists() else None
    stop_supervisor(run_dir)  # first, or it would start again what stops now
    names = list(commands(env)) if env else [p.stem for p in (run_dir / "pids").glob("*.pid")]
    stop_all(run_dir, sorted(names, key=lambda n: (n != "web", n)), grace)  # web first: no new requests
    if drop_db and env:
        drop_database(env["DATABASE_URL"])
    _say(f"stopped {', '.join(names) or 'nothing'}")


def status(run_dir: Path) -> dict[str, int | None]:
    env = saved_env(run_dir)
    return {name: (read_pid(run_dir, name) if alive(read_pid(run_dir, name)) else None)
            for name in [*commands(env), SUPERVISOR]}


def main(argv: list[str] | None = None) -> int:
    if VENV_PYTHON.exists() and Path(sys.executable).parent != VENV_PYTHON.parent and argv is None:
        # run as a script by another Python: use the project's virtualenv (gunicorn, dramatiq...)
        os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])
    parser = argparse.ArgumentParser(prog="prodctl.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("up", "down", "start", "stop", "kill", "status"))
    parser.add_argument("name", nargs="?", help="process for start/stop/kill: web, sweeper, worker-<n> "
                                                "(start/stop: also supervisor)")
    parser.add_argument("--run-dir", type=Path, default=Path(os.environ.get("RUN_DIR", ROOT / "instance" / "prod")))
    parser.add_argument("--port", type=int)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--web-workers", type=int)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--grace", type=float, default=float(os.environ.get("STOP_GRACE", "30")))
    parser.add_argument("--drop-db", action="store_true", help="down: drop the database too")
    options = parser.parse_args(argv)
    run_dir = options.run_dir.resolve()
    try:
        if options.command == "up":
            up(run_dir, options)
        elif options.command == "down":
            down(run_dir, options.grace, options.drop_db)
        elif options.command == "status":
            for name, pid in status(run_dir).items():
                print(f"{name:10} {'running, pid ' + str(pid) if pid else 'stopped'}")
        elif not options.name:
            parser.error(f"{options.command} needs a process name")
        elif options.name == SUPERVISOR and options.command in ("start", "stop"):
            if options.command == "stop":
                stop_supervisor(run_dir)
            elif not alive(read_pid(run_dir, SUPERVISOR)):
                start_supervisor(run_dir, saved_env(run_dir))
        elif options.command == "start":
            ensure_started(run_dir, options.name)
        elif options.command == "stop":
            stop(run_dir, options.name, options.grace)
        else:
            kill(run_dir, options.name)
    except TopologyError as err:
        _say(f"error: {err}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
