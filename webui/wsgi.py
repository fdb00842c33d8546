"""WSGI entry for gunicorn: ``gunicorn 'webui.wsgi:app'`` (settings from the environment)."""
from webui.app import create_app

app = create_app()
