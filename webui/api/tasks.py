"""Human tasks: inbox scopes, one task with its form, claim, unclaim, complete."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine import clock
from engine.case import decision_context
from engine.models import PRIORITY_BY_RISK, RiskLevel, TaskState
from engine.process import human_tasks, inbox
from webui import workflow_words
from webui.api.bounds import TASK_ID, page_limit, page_offset
from webui.auth import current_user_id, username_of
from webui.extensions import runtime, uow
from webui.idempotency import idempotent

blp = Blueprint("tasks", __name__, url_prefix="/api/tasks", description="Human tasks")

RISK_BY_PRIORITY = {priority: level for level, priority in PRIORITY_BY_RISK.items()}


class TaskQuerySchema(Schema):
    scope = fields.String(load_default="mine", validate=validate.OneOf(inbox.API_SCOPES))
    overdue = fields.Boolean(load_default=False)
    case_code = fields.String(load_default=None)
    process_id = fields.String(load_default=None)
    limit = page_limit(100, 500)
    offset = page_offset()


class TaskSchema(Schema):
    id = fields.String()
    name = fields.String()
    title = fields.String(metadata={"description": "in English, or in the language the user chose (users.locale)"})
    case_code = fields.String(allow_none=True)
    process_id = fields.String()
    instance_id = fields.Integer()
    role = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    state = fields.String()
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    priority = fields.String()
    priority_rank = fields.Integer()
    risk_level = fields.String(allow_none=True)


class TaskDetailSchema(TaskSchema):
    form = fields.Dict(allow_none=True, metadata={"description": (
        "JSON Schema (draft 2020-12) of the data to submit; its titles and descriptions in the user's chosen "
        "language (users.locale), else English; field names and values always as the form file has them")})
    form_file = fields.String(allow_none=True)
    subject = fields.Dict(allow_none=True, metadata={"description": (
        "what the task decides, from the case records: {kind, subject, sections: [{heading, facts: [{label, "
        "text?, at?, yes?, items?}]}], sent_back: {by, at, comment} | null, prefill: answers to start from}; "
        "null for a task that decides nothing recorded on a case")})


class TaskListSchema(Schema):
    tasks = fields.List(fields.Nested(TaskSchema))
    total = fields.Integer()
    scope = fields.String()


class CompleteSchema(Schema):
    data = fields.Dict(required=True, metadata={"description": "answers, validated against the task's form"})


def task_dict(task, assignee: str | None = None, form=None, language: str = "en") -> dict:
    """A task (a ``HumanTask`` row or an inbox ``TaskRow``) as the API shows it; its title and
    form in ``language`` (English unless the user chose another: ``webui.workflow_words``)."""
    return {
        "id": task.id, "name": task.name, "title": workflow_words.title(task.title, language),
        "case_code": task.case_code,
        "process_id": task.process_id, "instance_id": task.instance_id, "role": task.role,
        "assignee": assignee, "state": task.state, "created_at": task.created_at, "due_at": task.due_at,
        "overdue": bool(task.state == TaskState.READY and task.due_at and task.due_at < clock.now()),
        "priority": RISK_BY_PRIORITY.get(task.priority, RiskLevel.LOW.value), "priority_rank": task.priority,
        "risk_level": task.risk_level, "form": workflow_words.form(form, language),
        "form_file": getattr(task, "form", None),
    }


@blp.get("")
@blp.arguments(TaskQuerySchema, location="query")
@blp.response(200, TaskListSchema)
def list_tasks(query):
    """Ready tasks in one inbox: `mine`, `claimable` (offered to my roles) or `team`."""
    user_id = current_user_id()
    with uow() as work:
        rows, total = inbox.task_list(work.session, user_id, **query)
        language = workflow_words.api_language(work.session, user_id)
        return {"tasks": [task_dict(row, row.assignee, language=language) for row in rows], "total": total,
                "scope": query["scope"]}


@blp.get(f"/<{TASK_ID}:task_id>")
@blp.response(200, TaskDetailSchema)
def get_task(task_id):
    """One task with the JSON Schema of its form, and what it decides (`subject`)."""
    user_id = current_user_id()
    with uow() as work:
        shown = decision_context.task_in_view(work, user_id, task_id)
        view = shown.view
        return {**task_dict(view.task, view.assignee, view.form, workflow_words.api_language(work.session, user_id)),
                "subject": shown.context.as_json() if shown.context else None}


@blp.post(f"/<{TASK_ID}:task_id>/claim")
@idempotent("claim_task")
@blp.response(200, TaskSchema)
def claim(task_id):
    """Take a task offered to one of my roles (409 if someone else holds it)."""
    user_id = current_user_id()
    with uow() as work:
        task = human_tasks.claim_task(work, user_id, task_id)
        return task_dict(task, username_of(work.session, task.assignee_id),
                         language=workflow_words.api_language(work.session, user_id))


@blp.post(f"/<{TASK_ID}:task_id>/unclaim")
@idempotent("unclaim_task")
@blp.response(200, TaskSchema)
def unclaim(task_id):
    """Hand a task I hold back to its role."""
    user_id = current_user_id()
    with uow() as work:
        task = human_tasks.unclaim_task(work, user_id, task_id)
        return task_dict(task, language=workflow_words.api_language(work.session, user_id))


@blp.post(f"/<{TASK_ID}:task_id>/complete")
@idempotent("complete_task")
@blp.arguments(CompleteSchema)
@blp.response(200, TaskSchema)
def complete(body, task_id):
    """Submit the form: 422 with per-field errors if invalid, 409 if no longer ready."""
    user_id = current_user_id()
    with uow() as work:
        task = human_tasks.complete_task(work, runtime(), user_id, task_id, body["data"])
        return task_dict(task, username_of(work.session, task.assignee_id),
                         language=workflow_words.api_language(work.session, user_id))
