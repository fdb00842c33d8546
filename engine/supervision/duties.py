"""What a supervisor's recurring duties look like (R30): for the supervision page and API.

Codes and usernames only; the supervisor sees their own, the director everyone's.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import select

from engine.errors import Forbidden
from engine.models import HumanTask, TaskState
from engine.models.supervision import SupervisionDuty, SupervisionDutyKind, SupervisionRecord
from engine.people.directory import get_user, supervisee_ids, usernames

MAX_RECORDS = 200


@dataclass(frozen=True)
class DutyLine:
    duty: str
    duty_label: str
    supervisor: str | None
    caseworker: str | None
    every_days: int
    next_due_at: dt.datetime | None
    last_done_at: dt.datetime | None


@dataclass(frozen=True)
class RecordLine:
    id: int
    duty: str
    duty_label: str
    supervisor: str | None
    caseworker: str | None
    period: str
    due_at: dt.datetime | None
    done_at: dt.datetime | None
    outcome: str
    files: list[str]
    task_ids: list[str]


def supervision_overview(uow, user_id: int) -> tuple[list[DutyLine], list[RecordLine]]:
    """The schedule and the latest occurrences this user is responsible for (a director:
    their whole line). Audited. Commits."""
    session = uow.session
    user = get_user(session, user_id)
    if not user.has_role("supervisor", "director", "admin"):
        raise Forbidden("supervision duties are supervisors' and directors'")
    own = {user.id} | (supervisee_ids(session, user.id) if user.has_role("director", "admin") else set())
    rows = list(session.scalars(select(SupervisionDuty).where(SupervisionDuty.supervisor_id.in_(own))
                                .order_by(SupervisionDuty.next_due_at, SupervisionDuty.key)))
    records = list(session.scalars(select(SupervisionRecord).where(SupervisionRecord.supervisor_id.in_(own))
                                   .order_by(SupervisionRecord.opened_at.desc()).limit(MAX_RECORDS)))
    tasks: dict[int, list[str]] = {}
    ids = [r.instance_id for r in records if r.instance_id]
    for instance_id, task_id in session.execute(select(HumanTask.instance_id, HumanTask.id).where(
            HumanTask.instance_id.in_(ids), HumanTask.state == TaskState.READY)):
        tasks.setdefault(instance_id, []).append(task_id)
    names = usernames(session, [r.supervisor_id for r in rows + records] + [r.caseworker_id for r in rows + records])
    uow.audit(user.id, "supervision_viewed", "supervision", "overview")
    uow.commit()
    label = SupervisionDutyKind.label_of
    return ([DutyLine(r.duty, label(r.duty), names.get(r.supervisor_id), names.get(r.caseworker_id)
                      if r.caseworker_id else None, r.every_days, r.next_due_at, r.last_done_at) for r in rows],
            [RecordLine(r.id, r.duty, label(r.duty), names.get(r.supervisor_id), names.get(r.caseworker_id)
                        if r.caseworker_id else None, r.period, r.due_at, r.done_at, r.outcome,
                        json.loads(r.sampled_json or "[]"), tasks.get(r.instance_id or 0, [])) for r in records])
