"""One task: its form (rendered in the browser from the task's JSON Schema), the case
beside it, what happens next; claim, hand back, submit.

The form posts here as ordinary form fields (``data_json`` plus the CSRF token); the
server validates against the schema and, on a 422, shows each field's error in place.
"""
from __future__ import annotations

import logging

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required

from engine.bpmn.diagram_outline import outline_after
from engine.case import dashboards, decision_context
from engine.case import files as case_files
from engine.errors import Conflict, Invalid, NotFound, ScriptError
from engine.models import CaseStatus, TaskState
from engine.people import access
from engine.people.directory import get_user
from engine.process import deployment, human_tasks, inbox
from webui import workflow_words
from webui.api.bounds import TASK_ID
from webui.extensions import runtime, uow
from webui.json_limits import loads_bounded
from webui.pages.auth import safe_next
from webui.pages.common import page_blueprint
from webui.pages.form_display import editor_schema, ordered_errors, read_only_fields

log = logging.getLogger(__name__)
bp = page_blueprint("pages_tasks", __name__)
MAX_FORM_JSON = 256 * 1024


def _render(task_id: str, data: dict | None = None, errors: dict | None = None, status: int = 200):
    """The task page. ``data``: answers sent before (a refused submit); without them the
    form starts from what the task decides on (a plan sent back starts from that plan)."""
    with uow() as work:
        shown = decision_context.task_in_view(work, current_user.id, task_id)
        view, decides = shown.view, shown.context
        task = view.task
        user = get_user(work.session, current_user.id)
        bpmn = [f.content for f in deployment.model_files(work.session, view.model_id, "bpmn")]
        header = _system_fields(work.session, task.case_code, view.form)
        shown_form = workflow_words.form(view.form)  # the form's words in the page's language
        error_lines = ordered_errors(shown_form, _in_language(errors or {}))
        context = {
            "task": workflow_words.ShownTask(task), "assignee": view.assignee, "form": shown_form,
            "display_schema": editor_schema(shown_form),
            "data": data if data is not None else dict(decides.prefill if decides else {}),
            "errors": {path: messages for path, _, messages in error_lines}, "error_lines": error_lines,
            "header": [(title, header.get(name)) for name, title in read_only_fields(shown_form)],
            "decides": decides, "urgent_since": shown.urgent_since, "urgent_reason": shown.urgent_reason,
            "case": dashboards.case_summary(work.session, task.case_code),
            "outline": workflow_words.outline(outline_after(bpmn, task.process_id, task.bpmn_id)),
            "may_complete": task.state == TaskState.READY and access.may_complete(user, task),
            "may_claim": task.state == TaskState.READY and task.assignee_id is None and access.offered_to(user, task),
            "holds_it": task.state == TaskState.READY and task.assignee_id == user.id,
            "process_name": workflow_words.text(view.process_name),
        }
    return render_template("task.html", **context), status


def _in_language(errors: dict) -> dict:
    """A refused submit's messages: the form author's own (``errorMessage``) in the page's language."""
    return {path: [workflow_words.text(m) if isinstance(m, str) else m for m in messages]
            for path, messages in errors.items()}


def _system_fields(session, case_code: str | None, schema: dict | None) -> dict:
    """Read-only fields the system fills in on every case form (R33: date, case code,
    status, caseworker, supervisor), shown in the form but never submitted."""
    properties = (schema or {}).get("properties") or {}
    if not case_code or not properties:
        return {}
    try:
        header = case_files.form_context(session, case_code)
    except NotFound:
        return {}
    if header.get("case_status"):
        header["case_status"] = gettext(CaseStatus.label_of(header["case_status"]))  # in the page's language
    return {k: v for k, v in header.items() if v is not None and properties.get(k, {}).get("readOnly")}


@bp.get(f"/tasks/<{TASK_ID}:task_id>")
@login_required
def task_page(task_id: str):
    return _render(task_id)


@bp.post(f"/tasks/<{TASK_ID}:task_id>")
@login_required
def submit(task_id: str):
    raw = request.form.get("data_json", "")
    try:
        data = loads_bounded(raw, max_size=MAX_FORM_JSON)  # refusals (too big, deep, …) are ValueErrors
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return _render(task_id, {}, {"form": ["The answers could not be read: fill in the form again."]}, 400)
    with uow() as work:
        try:
            task = human_tasks.complete_task(work, runtime(), current_user.id, task_id, data)
        except (Invalid, ScriptError) as err:
            return _render(task_id, data, err.errors or {"form": [err.message]}, err.status)
        except Conflict as err:
            flash(f"Not saved: {err.message}.", "error")
            return redirect(url_for("pages_inbox.inbox"))
        title, case_code, instance_id = workflow_words.title(task.title), task.case_code, task.instance_id
        following = inbox.newly_ready_for(work.session, current_user.id, instance_id, task_id)
    flash(f"Done: “{title}”{' for ' + case_code if case_code else ''}.", "info")
    mine = [t for t in following if t.assignee_id == current_user.id]
    if len(mine) == 1:
        flash(f"Next on this case: “{workflow_words.title(mine[0].title)}”.", "info")
        return redirect(url_for("pages_tasks.task_page", task_id=mine[0].id))
    return redirect(url_for("pages_inbox.inbox"))


@bp.post(f"/tasks/<{TASK_ID}:task_id>/claim")
@login_required
def claim(task_id: str):
    with uow() as work:
        try:
            task = human_tasks.claim_task(work, current_user.id, task_id)
            shown = workflow_words.title(task.title)
            flash(f"You hold “{shown}”{' for ' + task.case_code if task.case_code else ''} now.", "info")
        except Conflict as err:
            flash(f"Could not claim it: {err.message}.", "error")
    return redirect(safe_next(request.form.get("next")) or url_for("pages_tasks.task_page", task_id=task_id))


@bp.post(f"/tasks/<{TASK_ID}:task_id>/unclaim")
@login_required
def unclaim(task_id: str):
    with uow() as work:
        try:
            task = human_tasks.unclaim_task(work, current_user.id, task_id)
            flash(f"“{workflow_words.title(task.title)}” is back with the {task.role or 'team'}.", "info")
        except Conflict as err:
            flash(f"Could not hand it back: {err.message}.", "error")
    return redirect(safe_next(request.form.get("next")) or url_for("pages_inbox.inbox"))


# a task's title in the page's language, for the other pages' task lists: {{ t.title|task_title }}
bp.add_app_template_filter(workflow_words.title, "task_title")
