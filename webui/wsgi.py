"""WSGI entry for gunicorn: ``gunicorn 'webui.wsgi:app'`` (settings from the environment).
In production the process's address space is capped first (``engine.infra.process_limits``);
once the app is built, the garbage collector is set for a service (``engine.infra.garbage_collection``).

Importing this neither migrates nor deploys in production: a database that is not migrated
is refused with a message saying what to run, and the process exits with status 4, which
gunicorn reads as "the app failed to load" and stops for (instead of restarting workers).
"""
import sys

from engine.infra import logs
from engine.infra.bootstrap import SchemaNotCurrent
from engine.infra.garbage_collection import tune_for_service
from engine.infra.process_limits import apply_memory_limit
from engine.settings import Settings
from webui.app import create_app

APP_LOAD_ERROR = 4  # gunicorn's exit status for an app that cannot load: it halts, it does not respawn

logs.configure()  # JSON lines in production (LOG_FORMAT), each naming its request
settings = Settings.from_env()
apply_memory_limit(settings)
try:
    app = create_app(settings)
except SchemaNotCurrent as err:
    sys.stderr.write(f"not serving: {err}\n")  # to the operator, whatever logging is set up
    sys.stderr.flush()
    raise SystemExit(APP_LOAD_ERROR) from None
tune_for_service(settings)  # booted: what it holds now is frozen out of the collector's passes
