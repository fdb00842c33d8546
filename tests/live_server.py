"""The real app served on a free localhost port, as ``make run`` serves it, for tests that
need a live HTTP server (the browser tests and the bystander tests)."""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

from werkzeug.serving import make_server

from engine.settings import PROJECT_ROOT, Settings


def live_settings(database_url: str, secret_key: str, instance_dir: Path) -> Settings:
    """Demo users, the repository's workflows and the in-process worker, as tests run them."""
    return Settings(database_url=database_url, secret_key=secret_key, demo=True,
                    workflows_dir=PROJECT_ROOT / "workflows", instance_dir=instance_dir,
                    in_process_worker=True, testing=True, script_time_limit=2.0)


@contextlib.contextmanager
def serving(settings: Settings, thread_name: str) -> Iterator[tuple[str, object]]:
    """Build the app with its worker, serve it threaded, yield ``(url, app)``; on exit stop the
    server, the worker and the database engine."""
    from webui.app import create_app
    app = create_app(settings, start_worker=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=thread_name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["task_queue"].stop()
        app.extensions["engine_ctx"].engine.dispose()
