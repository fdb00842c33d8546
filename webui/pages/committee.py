"""The case committee: conferences waiting for my vote (admission, emergency, closure),
the case beside each, a vote with a comment; others' votes once mine is in, the quorum
progress and the outcome (R03)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.case import decision_context
from engine.committee import board as committee_board
from engine.errors import Conflict, Invalid, ScriptError
from engine.models.case_decisions import VoteChoice
from engine.process import human_tasks
from engine.process.deployment import form_schema
from webui.api.bounds import TASK_ID
from webui.extensions import runtime, uow
from webui.pages.common import page_blueprint, require_roles

bp = page_blueprint("pages_committee", __name__)

VOTE_FIELDS = {"vote", "comment"}
MAX_COMMENT = 4000


def _quick_vote_fits(schema: dict | None) -> bool:
    """The inline vote form (vote + comment) is enough for this task's form."""
    if not schema:
        return False
    properties = set((schema.get("properties") or {}).keys())
    return "vote" in properties and set(schema.get("required") or []) <= VOTE_FIELDS


def _render(errors: dict | None = None, failed_task: str | None = None, submitted: dict | None = None,
            status: int = 200):
    with uow() as work:
        items = committee_board.agenda(work.session, current_user.id)
        quick, comment_limits = {}, {}
        tasks = []
        models = committee_board.models_of(work.session, (item.task.instance_id for item in items))
        rows = committee_board.tasks_of(work.session, items)
        for item in items:
            task = rows[item.task.id]
            tasks.append(task)
            schema = form_schema(work.session, models[item.task.instance_id], task.form)
            quick[item.task.id] = _quick_vote_fits(schema)
            comment = ((schema or {}).get("properties") or {}).get("comment") or {}
            comment_limits[item.task.id] = int(comment.get("maxLength") or MAX_COMMENT)
        recent = committee_board.recent_conferences(work.session, current_user.id)
        decides = decision_context.decisions_in_view(work, current_user.id, tasks)
    return render_template("committee.html", items=items, recent=recent, quick=quick, errors=errors or {},
                           failed_task=failed_task, submitted=submitted or {}, decides=decides,
                           comment_limits=comment_limits), status


@bp.get("/committee")
@require_roles(committee_board.COMMITTEE_ROLE)
def agenda():
    return _render()


@bp.post(f"/committee/<{TASK_ID}:task_id>/vote")
@require_roles(committee_board.COMMITTEE_ROLE)
def vote(task_id: str):
    data = {"vote": request.form.get("vote", "")}
    comment = request.form.get("comment", "").strip()
    if comment:
        data["comment"] = comment  # a comment over the form's limit is refused with a message, never cut
    if data["vote"] not in ("approve", "reject"):
        return _render({"vote": ["Choose Approve or Reject."]}, task_id, data, 422)
    with uow() as work:
        try:
            task = human_tasks.complete_task(work, runtime(), current_user.id, task_id, data)
        except (Invalid, ScriptError) as err:
            return _render(err.errors or {"vote": [err.message]}, task_id, data, err.status)
        except Conflict as err:
            flash(_("Your vote was not recorded: %(why)s.", why=err.message), "error")
            return redirect(url_for("pages_committee.agenda"))
        case_code = task.case_code
    flash(_("Your vote (%(vote)s) on %(case)s is recorded. Other members' votes are shown below.",
            vote=_(VoteChoice.label_of(data["vote"])).lower(), case=case_code or _("this case")), "info")
    return redirect(url_for("pages_committee.agenda") + "#decided")
