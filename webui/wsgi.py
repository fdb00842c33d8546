"""WSGI entry for gunicorn: ``gunicorn 'webui.wsgi:app'`` (settings from the environment).
In production the process's address space is capped first (``engine.infra.process_limits``)."""
from engine.infra.process_limits import apply_memory_limit
from engine.settings import Settings
from webui.app import create_app

settings = Settings.from_env()
apply_memory_limit(settings)
app = create_app(settings)
