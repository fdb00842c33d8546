"""JSON API: one blueprint and its schemas per resource."""
from __future__ import annotations

from flask import Flask

from webui.api import (
    auth,
    cases,
    complaints,
    conferences,
    crises,
    decisions,
    handovers,
    health,
    incidents,
    model_compare,
    notifications,
    process_models,
    processes,
    supervision,
    tasks,
)
from webui.api import users as users_api
from webui.extensions import csrf, smorest_api

API_BLUEPRINTS = (auth.blp, tasks.blp, cases.blp, process_models.blp, processes.blp, crises.blp,
                  notifications.blp, incidents.blp, users_api.blp, users_api.teams_blp, conferences.blp, complaints.blp,
                  handovers.blp, supervision.blp, decisions.blp, model_compare.blp)


def register_api(app: Flask) -> None:
    app.register_blueprint(health.bp)
    for blp in API_BLUEPRINTS:
        csrf.exempt(blp)  # bearer-token calls; session calls are checked in webui.auth
        smorest_api.register_blueprint(blp)
