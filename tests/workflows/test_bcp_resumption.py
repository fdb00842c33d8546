"""RESUMPTION paths of bcp_cbf5 besides the main path: confirmed in time (no escalation),
a communication lead who is not on the crisis team, a disruption that is not IT-related."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from engine import clock
from engine.errors import Invalid
from engine.models import HumanTask, Timer
from engine.models.crisis import Crisis
from engine.models.ops import Notification
from tests.engine.crisis_support import T0, complete_step, declare, ready_bpmn_ids, ready_task, user_id

HOUR = dt.timedelta(hours=1)
RESUMPTION_ANSWERS = {
    "crt_briefing": {"briefing_held": True, "communication_channel": "messaging group"},
    "assign_crt_tasks": {"assignments": [{"member": "crisislead1", "task": "backup systems"}]},
    "review_client_impact": {"reviewed": True},
    "arrange_alternative_services": {"arrangements": ["virtual_case_management"]},
    "resume_5_3": {"resumed": True, "partners_confirmed": True},
}


def bcp_instance(ctx, crisis_id: int) -> int:
    with ctx.session_factory() as session:
        return session.get(Crisis, crisis_id).instance_id


def test_resumption_confirmed_in_time_cancels_the_escalation_R42(ctx):
    """R36/R42: resumption confirmed before T+24 h: the deadline timer is cancelled, the
    director gets no escalation, and RECOVERY starts."""
    clock.freeze(T0)
    crisis_id = declare(ctx, kind="pandemic", functions=("5.3",))
    bcp = bcp_instance(ctx, crisis_id)
    assert "restore_systems" not in ready_bpmn_ids(ctx, bcp)  # not IT-related: no IT recovery branch
    clock.freeze(T0 + 5 * HOUR)
    for step, answers in RESUMPTION_ANSWERS.items():
        complete_step(ctx, "crisislead1", bcp, step, answers)
    complete_step(ctx, "crisislead1", bcp, "assign_communication_lead", {"communication_lead": "crisislead1"})
    for step in ("inform_clients", "inform_staff", "inform_stakeholders"):
        complete_step(ctx, "crisislead1", bcp, step, {"sent": True, "channels": ["email"]})
    complete_step(ctx, "crisislead1", bcp, "confirm_resumption", {"resumption_confirmed": True})
    with ctx.session_factory() as session:
        timer = session.scalar(select(Timer).where(Timer.instance_id == bcp))
        record = session.get(Crisis, crisis_id)
        escalations = session.scalars(select(Notification).where(Notification.kind == "crisis_escalation")).all()
        director_tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == bcp,
                                                                 HumanTask.role == "director",
                                                                 HumanTask.bpmn_id == "review_escalation")).all()
    assert timer.state == "cancelled"
    assert record.status == "recovery" and record.escalated_at is None and escalations == [] and director_tasks == []
    assert {"impact_assessment", "data_validation", "staff_wellbeing"} <= ready_bpmn_ids(ctx, bcp)


def test_the_communication_lead_must_be_on_the_crisis_team_R36(ctx):
    crisis_id = declare(ctx)
    bcp = bcp_instance(ctx, crisis_id)
    task = ready_task(ctx, bcp, "assign_communication_lead")
    with pytest.raises(Invalid) as info:
        complete_step(ctx, "crisislead1", bcp, "assign_communication_lead", {"communication_lead": "caseworker1"})
    assert "communication_lead" in info.value.errors
    assert ready_task(ctx, bcp, "assign_communication_lead").id == task.id  # nothing moved on
    complete_step(ctx, "crisislead1", bcp, "assign_communication_lead", {"communication_lead": "crisislead1"})
    with ctx.session_factory() as session:
        assert session.get(Crisis, crisis_id).communication_lead_id == user_id(ctx, "crisislead1")
    assert {"inform_clients", "inform_staff", "inform_stakeholders"} <= ready_bpmn_ids(ctx, bcp)
