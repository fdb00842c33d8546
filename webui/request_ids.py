"""Every answer names its request: ``X-Request-Id`` taken from the caller when well formed
(``engine.infra.request_ids.well_formed``), else made here; bound for the request's log
lines and stamped on the jobs it causes (their outbox rows), echoed in the answer."""
from __future__ import annotations

from flask import Flask, g, request

from engine.infra import request_ids

HEADER = "X-Request-Id"


def install(app: Flask) -> None:
    """Register first: the hooks of ``app`` registered after it log under the id."""
    @app.before_request
    def _bind():
        sent = request.headers.get(HEADER)
        g.request_id = sent if request_ids.well_formed(sent) else request_ids.new()
        g.request_id_token = request_ids.bind(g.request_id)

    @app.after_request
    def _echo(response):
        if "request_id" in g:
            response.headers[HEADER] = g.request_id
        return response

    @app.teardown_request
    def _unbind(_error):
        token = g.pop("request_id_token", None)
        if token is not None:
            try:
                request_ids.reset(token)
            except ValueError:  # torn down in another context than it started in
                request_ids.bind(None)
