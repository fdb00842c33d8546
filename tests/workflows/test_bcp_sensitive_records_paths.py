"""R50: on a disruption that may mean evacuating the office or that exposes the files, the
BCP's RESUMPTION asks the crisis team to move, destroy or lock the most sensitive records as
the data-protection protocol says; what was done goes into the disruption log. The gate is
``bcp_parameters.secure_records_needed``; driven through the deployed ``bcp_cbf5`` with a
frozen clock."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import clock
from engine.errors import Invalid
from engine.models import AuditEvent, Case, CaseClientLink, CaseNote, Client
from engine.models.crisis import Crisis, DisruptionLogEntry
from engine.process import deployment
from engine.process.decision_parameters import decision_row
from tests.engine.crisis_support import T0, add_case, complete_step, declare, ready_bpmn_ids, ready_task, user_id
from tests.workflows.case_driver import SQLITE_ONLY

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
HOUR = dt.timedelta(hours=1)
TASK = "secure_sensitive_records"
OTHER_RESUMPTION = {
    "crt_briefing": {"briefing_held": True, "communication_channel": "messaging group"},
    "assign_crt_tasks": {"assignments": [{"member": "crisislead1", "task": "sensitive files"}]},
    "review_client_impact": {"reviewed": True},
    "arrange_alternative_services": {"arrangements": ["temporary_office"]},
    "resume_5_5": {"resumed": True},
}
SECURED = {"records": [
    {"record": "confidential_section", "action": "moved", "where": "locked cabinet at the regional office"},
    {"record": "confidential_notes", "action": "access_locked", "where": "read access limited to the supervisor"},
    {"record": "name_code_list", "action": "moved", "where": "director's safe"},
    {"record": "paper_files", "action": "destroyed", "where": "shredded on site"}],
    "protocol_followed": True}


def seed_sensitive_case(ctx) -> None:
    """A case whose file holds a strictly confidential section, a confidential note and a name link."""
    case_id = add_case(ctx, "CP-SENS-1", risk="high")
    with ctx.uow() as uow:
        case = uow.session.get(Case, case_id)
        case.confidential_notes = "Disclosure by the child about the uncle"
        uow.session.add(CaseNote(case_id=case_id, text="Safe house address", confidential=True, case_status="O"))
        client = Client(name="Amal Example")
        uow.session.add(client)
        uow.session.flush()
        uow.session.add(CaseClientLink(case_id=case_id, client_id=client.id))
        uow.commit()


def bcp_of(ctx, crisis_id: int) -> int:
    with ctx.session_factory() as session:
        return session.get(Crisis, crisis_id).instance_id


def finish_other_resumption_steps(ctx, bcp: int, kind: str) -> None:
    for step, answers in OTHER_RESUMPTION.items():
        complete_step(ctx, "crisislead1", bcp, step, answers)
    complete_step(ctx, "crisislead1", bcp, "assign_communication_lead", {"communication_lead": "crisislead1"})
    for step in ("inform_clients", "inform_staff", "inform_stakeholders"):
        complete_step(ctx, "crisislead1", bcp, step, {"sent": True, "channels": ["sms"]})
    if kind in ("it_failure", "security_breach"):
        complete_step(ctx, "crisislead1", bcp, "restore_systems", {"systems_restored": ["case_management"],
                                                                   "restored_from_backup": True})
        complete_step(ctx, "crisislead1", bcp, "integrity_check", {"integrity_ok": True})


@pytest.mark.parametrize("kind", ["natural_disaster", "security_breach"])
def test_R50_an_evacuation_or_breach_has_the_most_sensitive_records_secured_before_resumption(ctx, kind):
    """R50 (001 §2.5.2): a natural disaster or a security breach opens, in RESUMPTION, a
    crisis-team task due when bcp_parameters says; every kind of sensitive record the case
    files hold must be accounted for (else 422, nothing moves on); what was moved, destroyed
    or locked goes into the disruption log and the audit trail; resumption cannot be
    confirmed before it is done."""
    seed_sensitive_case(ctx)
    clock.freeze(T0)
    with ctx.session_factory() as session:
        params = decision_row(session, "bcp_parameters", kind=kind)
    assert params["secure_records_needed"] is True
    crisis_id = declare(ctx, kind=kind, functions=("5.5",), description="Flood: the office is evacuated")
    bcp = bcp_of(ctx, crisis_id)
    task = ready_task(ctx, bcp, TASK)
    assert task.role == "crisis_team" and task.due_at == T0 + params["secure_records_hours"] * HOUR
    clock.freeze(T0 + 2 * HOUR)
    finish_other_resumption_steps(ctx, bcp, kind)
    assert "confirm_resumption" not in ready_bpmn_ids(ctx, bcp)  # the records come first

    with pytest.raises(Invalid) as refused:  # the confidential notes are not accounted for
        complete_step(ctx, "crisislead1", bcp, TASK, {"records": [SECURED["records"][0], SECURED["records"][2]],
                                                      "protocol_followed": True})
    assert "records" in refused.value.errors
    with pytest.raises(Invalid) as refused:  # a move says where to
        complete_step(ctx, "crisislead1", bcp, TASK, {
            "records": [{**line, "where": ""} if line["action"] == "moved" else line for line in SECURED["records"]],
            "protocol_followed": True})
    assert "records.0.where" in refused.value.errors
    assert ready_task(ctx, bcp, TASK).id == task.id
    with ctx.session_factory() as session:
        assert not [e for e in session.scalars(select(DisruptionLogEntry.text)) if "sensitive records" in e]

    complete_step(ctx, "crisislead1", bcp, TASK, SECURED)
    with ctx.session_factory() as session:
        entries = session.scalars(select(DisruptionLogEntry).where(DisruptionLogEntry.crisis_id == crisis_id)).all()
        audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "sensitive_records_secured")).all()
    logged = [e for e in entries if "sensitive records" in e.text]
    assert len(logged) == 1 and logged[0].author_id == user_id(ctx, "crisislead1") and logged[0].kind == "action"
    assert "strictly confidential section of the case files (1): moved (locked cabinet" in logged[0].text
    assert "confidential section (1): access locked" in logged[0].text and "destroyed (shredded" in logged[0].text
    assert "Amal" not in logged[0].text and "uncle" not in logged[0].text and "Safe house" not in logged[0].text
    assert len(audit) == 1 and audit[0].subject_id == str(crisis_id)
    assert "confirm_resumption" in ready_bpmn_ids(ctx, bcp)


@pytest.mark.parametrize("kind", ["it_failure", "pandemic", "staffing_shortage"])
def test_R50_a_disruption_that_means_no_evacuation_asks_nothing_of_the_sensitive_records(ctx, kind):
    """R50: bcp_parameters leaves the gate closed for an IT outage, a pandemic or a staffing
    shortage: no records task, and resumption is confirmed without one."""
    seed_sensitive_case(ctx)
    clock.freeze(T0)
    with ctx.session_factory() as session:
        assert decision_row(session, "bcp_parameters", kind=kind)["secure_records_needed"] is False
    bcp = bcp_of(ctx, declare(ctx, kind=kind, functions=("5.5",)))
    assert TASK not in ready_bpmn_ids(ctx, bcp)
    finish_other_resumption_steps(ctx, bcp, kind)
    assert TASK not in ready_bpmn_ids(ctx, bcp) and "confirm_resumption" in ready_bpmn_ids(ctx, bcp)


@SQLITE_ONLY
def test_R50_the_process_owner_turns_the_records_task_on_for_another_kind_in_the_table(ctx):
    """R50: the gate is the table's, not the diagram's: secure_records_needed set for IT
    failures and redeployed, the next IT outage asks for the records to be secured."""
    text = (WORKFLOWS / "dmn" / "bcp_parameters.dmn").read_text()
    old = '<dmn:outputEntry id="rule_it_failure_out24"><dmn:text>False</dmn:text></dmn:outputEntry>'
    assert old in text
    with ctx.uow() as uow:
        deployment.deploy_files(uow, {"bcp_parameters.dmn": text.replace(old, old.replace("False", "True"))})
        uow.commit()
    clock.freeze(T0)
    bcp = bcp_of(ctx, declare(ctx, kind="it_failure", functions=("5.5",)))
    assert ready_task(ctx, bcp, TASK).due_at == T0 + 12 * HOUR
