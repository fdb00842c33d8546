"""The words the crisis data-validation report shows for each kind of change in the audit
trail (``audit_log.action``), in the page's language: ``audit_action`` (a template filter).

A case event's change (``case_<kind>``, engine.case.records) is the word "Case" with the
kind's label; the others are below, each marked for the catalogue. An action not listed is
shown in words as it is (``some_action`` → "Some action").
"""
from __future__ import annotations

from flask import Flask
from flask_babel import gettext

from engine.models.case import CaseEventKind
from engine.service_ops.translations import N_

ACTIONS = {
    "account_locked": N_("Account locked"), "availability_changed": N_("Availability changed"),
    "backup_verified": N_("Backup verified"), "bcp_updated": N_("Continuity plan updated"),
    "case_confidential_viewed": N_("Confidential notes read"), "case_file_viewed": N_("Case file read"),
    "case_counts_rebuilt": N_("Dashboard case counts rebuilt"),
    "case_consultation_answered": N_("Urgent consultation answered"),
    "case_consultation_escalated": N_("Urgent consultation passed to the director"),
    "case_file_release_refused": N_("Request to see the case file refused"),
    "case_file_released": N_("Screened case file released"),
    "sensitive_records_secured": N_("Sensitive records secured"),
    "sensitive_records_locked": N_("Sensitive records locked"),
    "sensitive_records_unlocked": N_("Sensitive records unlocked"),
    "case_note_added": N_("Case note added"), "client_birth_date_read": N_("Client birth date read"),
    "client_contact_details_read": N_("Client contact details read"),
    "client_contact_recorded": N_("Client contact recorded"), "client_message_failed": N_("Client message failed"),
    "client_messages_queued": N_("Client messages queued"), "complaint_acknowledged": N_("Complaint acknowledged"),
    "complaint_answered": N_("Complaint answered"), "complaint_escalated": N_("Complaint escalated"),
    "complaint_escalation_handled": N_("Complaint escalation handled"), "complaint_recorded": N_("Complaint recorded"),
    "complaint_viewed": N_("Complaint read"), "complaints_listed": N_("Complaints listed"),
    "crisis_case_note_added": N_("Crisis note added to a case"), "crisis_case_notes_viewed": N_("Crisis notes read"),
    "crisis_check_recorded": N_("Crisis check recorded"), "crisis_check_started": N_("Crisis check started"),
    "crisis_checks_planned": N_("Crisis checks planned"), "crisis_closed": N_("Crisis closed"),
    "crisis_communication_lead_set": N_("Communication lead named"),
    "crisis_data_report_viewed": N_("Data-validation report read"), "crisis_declared": N_("Crisis declared"),
    "crisis_escalated": N_("Crisis escalated"), "crisis_fan_out_requested": N_("Crisis checks requested"),
    "crisis_reassessment_recorded": N_("Reassessment recorded"), "crisis_report_viewed": N_("Crisis report read"),
    "crisis_resumption_confirmed": N_("Resumption confirmed"), "crisis_scope_changed": N_("Crisis scope changed"),
    "crisis_staff_unavailable": N_("Staff member unavailable"),
    "disruption_log_entry_added": N_("Disruption log entry added"), "drafts_deployed": N_("Drafts deployed"),
    "file_audit_completed": N_("File audit completed"), "follow_up_reassigned": N_("Follow-up reassigned"),
    "follow_up_rescheduled": N_("Follow-up rescheduled"), "handover_completed": N_("Handover completed"),
    "handover_document": N_("Handover document"), "handover_started": N_("Handover started"),
    "handover_team_briefed": N_("Team briefed on a handover"), "handover_viewed": N_("Handover read"),
    "incident_opened": N_("Incident opened"), "incident_reopened": N_("Incident reopened"),
    "incident_resolved": N_("Incident resolved"), "incident_retried": N_("Incident retried"),
    "instance_cancelled": N_("Workflow cancelled"), "instance_completed": N_("Workflow completed"),
    "instance_migrated": N_("Workflow moved to a new version"), "instance_started": N_("Workflow started"),
    "login": N_("Signed in"), "login_failed": N_("Sign-in failed"), "login_refused": N_("Sign-in refused"),
    "logout": N_("Signed out"), "migration_dry_run": N_("Migration tried out"), "model_deployed": N_("Model deployed"),
    "password_change_refused": N_("Password change refused"), "password_changed": N_("Password changed"),
    "password_set": N_("Password set"), "readiness_completed": N_("Readiness activity done"),
    "readiness_scheduled": N_("Readiness activity scheduled"),
    "referral_duplicate_warned": N_("Possible duplicate referral flagged"), "script_failed": N_("Script failed"),
    "sessions_ended": N_("Sessions ended"), "sso_linked": N_("Single sign-on linked"),
    "sso_unlinked": N_("Single sign-on unlinked"),
    "sso_login_refused": N_("Single sign-on refused"), "start_version_set": N_("Start version set"),
    "supervision_opened": N_("Supervision opened"), "supervision_recorded": N_("Supervision recorded"),
    "supervision_scheduled": N_("Supervision scheduled"), "supervision_viewed": N_("Supervision read"),
    "task_claimed": N_("Task claimed"), "task_completed": N_("Task completed"),
    "task_handed_back": N_("Task handed back"), "task_reassigned": N_("Task reassigned"),
    "task_unclaimed": N_("Task released"), "task_viewed": N_("Task read"), "team_created": N_("Team created"),
    "user_availability_changed": N_("Availability changed"), "user_created": N_("Account created"),
    "user_deactivated": N_("Account deactivated"), "user_details_changed": N_("Account details changed"),
    "user_language_changed": N_("Language changed"), "user_reactivated": N_("Account reactivated"),
    "user_roles_changed": N_("Roles changed"), "user_supervisor_changed": N_("Supervisor changed"),
    "user_team_changed": N_("Team changed"),
}


def audit_action(action: str | None) -> str:
    """``task_claimed`` → "Task claimed"; ``case_stage`` → "Case: Stage" (in the page's language)."""
    action = action or ""
    if action in ACTIONS:
        return gettext(ACTIONS[action])
    kind = action.removeprefix("case_")
    if action.startswith("case_") and kind in CaseEventKind.values():
        return gettext("Case: %(what)s", what=gettext(CaseEventKind.label_of(kind)))
    return action.replace("_", " ").capitalize()


def init_app(app: Flask) -> None:
    app.jinja_env.filters["audit_action"] = audit_action
