"""The inbox: my tasks, claimable tasks, my team's; by case code, due first."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from engine import clock
from engine.services import human_tasks
from webui.extensions import uow
from webui.pages.auth import LoginForm

bp = Blueprint("pages_inbox", __name__, template_folder="templates")

PAGE_SIZE = 50


@bp.get("/")
def inbox():
    if not current_user.is_authenticated:
        return render_template("login.html", form=LoginForm())
    scope = request.args.get("scope", "mine")
    if scope not in human_tasks.SCOPES or (scope == "team" and not current_user.has_role("supervisor", "director")):
        scope = "mine"
    page = max(int(request.args.get("page", "1")) if request.args.get("page", "1").isdigit() else 1, 1)
    with uow() as work:
        tasks, total = human_tasks.list_tasks(work.session, current_user.id, scope=scope,
                                              limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        counts = {s: human_tasks.list_tasks(work.session, current_user.id, scope=s, limit=1)[1]
                  for s in human_tasks.SCOPES
                  if s != "team" or current_user.has_role("supervisor", "director")}
    return render_template("inbox.html", tasks=tasks, total=total, scope=scope, counts=counts,
                           page=page, pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1), now=clock.now())
