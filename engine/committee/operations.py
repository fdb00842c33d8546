"""``committee.*`` operations: case conferences of the case committee (R03, R22, R47).

A conference asks every active committee member (a snapshot taken when it opens) for a
vote; each vote is recorded as the member casts it, one per member. The outcome follows
the quorum and majority of DMN ``committee_rules`` (parameters, not literals): approved
when at least ``quorum_percent`` of the members voted and more than ``approve_percent``
of the votes cast approve. Without a quorum when voting closes, the project director
decides (003 §5.2.3: the director stands in). What a conference on an open case changes
afterwards is ``engine.committee.review_operations``.
"""
from __future__ import annotations

import json

from sqlalchemy import select

from engine import clock
from engine.bpmn.operations import OperationContext, operation
from engine.case.operations.intake import case_of, finish
from engine.case.records import record_event, set_stage, take_text
from engine.committee.review_conferences import OPEN_CASE_KINDS
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.models import CaseStage, Vote
from engine.models.case_decisions import CONFERENCE_KINDS, VOTES, Conference
from engine.people.directory import get_user, users_with_role
from engine.service_ops.translations import N_


def _conference(ctx: OperationContext, conference_id) -> Conference:
    conference = ctx.uow.session.get(Conference, conference_id)
    case = case_of(ctx)
    if conference is None or conference.case_id != case.id:
        raise NotFound(N_("no conference %(id)s on case %(code)s") % {"id": conference_id, "code": case.code})
    return conference


def tally_votes(votes: list[str], members: int, quorum_percent: int, approve_percent: int) -> str:
    """The outcome of a conference under the committee's rule (pure arithmetic)."""
    cast = len(votes)
    if members <= 0 or cast * 100 < quorum_percent * members:
        return "no_quorum"
    approvals = sum(1 for v in votes if v == "approve")
    return "approved" if approvals * 100 > approve_percent * cast else "rejected"


@operation("committee.open_conference")
def open_conference(ctx: OperationContext, data: dict, kind: str) -> dict:
    """Open a conference of ``kind`` (admission, emergency, closure; on an open case
    case_review or emergency_review, R47) on the case: publishes
    ``committee_members`` (usernames; the case's own caseworker does not vote on it) for
    the multi-instance vote and ``conference_id``."""
    if kind not in CONFERENCE_KINDS:
        raise ValueError(f"unknown conference kind {kind!r}")
    case = case_of(ctx)
    # the case's own caseworker does not vote on it
    members = [m for m in users_with_role(ctx.uow.session, "committee_member") if m.id != case.caseworker_id]
    if not members:
        raise Conflict("the case committee has no active members; an administrator must appoint them")
    conference = Conference(case_id=case.id, instance_id=ctx.instance.id, kind=kind,
                            member_ids_json=json.dumps([m.id for m in members]), opened_at=clock.now())
    ctx.uow.session.add(conference)
    ctx.uow.session.flush()
    record_event(ctx.uow, case, ctx.actor_id, "conference", f"{kind} conference opened with {len(members)} members",
                 conference_id=conference.id, members=[m.username for m in members])
    if kind in ("admission", "emergency"):
        set_stage(ctx.uow, case, ctx.actor_id, CaseStage.ADMISSION)
    elif kind in OPEN_CASE_KINDS:
        set_stage(ctx.uow, case, ctx.actor_id, CaseStage.REVIEW)
    data["committee_members"] = [m.username for m in members]
    data["conference_id"] = conference.id
    data["ballots"] = []  # the multi-instance vote collects into an empty list (an earlier
    data.pop("member", None)  # conference of the same instance left its own behind)
    data.pop("ballot", None)
    return finish(ctx, case, data, conference_id=conference.id, members=len(members))


@operation("committee.record_vote")
def record_vote(ctx: OperationContext, data: dict, conference_id: int) -> dict:
    """R03: one vote of one member, as cast. Refused for anyone the conference did not
    ask, for a second vote, and once the conference is decided."""
    conference = _conference(ctx, conference_id)
    case = case_of(ctx)
    voter = get_user(ctx.uow.session, ctx.actor_id) if ctx.actor_id is not None else None
    if voter is None or voter.id not in json.loads(conference.member_ids_json):
        raise Forbidden("only the members of the case committee asked to this conference may vote (R03)")
    if conference.outcome is not None:
        raise Conflict("this conference has already been decided")
    if ctx.uow.session.scalar(select(Vote.id).where(Vote.conference_id == conference.id,
                                                    Vote.member_id == voter.id)) is not None:
        raise Conflict(N_("%(username)s has already voted in this conference") % {"username": voter.username})
    vote = data.get("vote")
    if vote not in VOTES:
        raise Invalid(N_("%(value)s is not a vote") % {"value": repr(vote)}, errors={"vote": list(VOTES)})
    texts = take_text(data, "comment")
    ctx.uow.session.add(Vote(conference_id=conference.id, case_id=case.id, member_id=voter.id, vote=vote,
                             comment=texts.get("comment", ""), at=clock.now()))
    record_event(ctx.uow, case, voter.id, "vote", f"{voter.username} voted {vote} ({conference.kind} conference)",
                 form="committee_vote", conference_id=conference.id, vote=vote)
    return {"member": voter.username, "vote": vote}


@operation("committee.tally")
def tally(ctx: OperationContext, data: dict, conference_id: int, quorum_percent: int, approve_percent: int) -> dict:
    """Decide the conference from the recorded votes; publishes ``conference_outcome``
    (approved, rejected, or no_quorum for the director to decide)."""
    conference = _conference(ctx, conference_id)
    case = case_of(ctx)
    votes = list(ctx.uow.session.scalars(select(Vote.vote).where(Vote.conference_id == conference.id)))
    members = len(json.loads(conference.member_ids_json))
    outcome = tally_votes(votes, members, int(quorum_percent), int(approve_percent))
    conference.quorum_percent, conference.approve_percent = int(quorum_percent), int(approve_percent)
    conference.outcome = outcome
    if outcome != "no_quorum":
        conference.decided_at = clock.now()
    approvals = sum(1 for v in votes if v == "approve")
    record_event(ctx.uow, case, ctx.actor_id, "conference",
                 f"{conference.kind} conference: {outcome.replace('_', ' ')} ({approvals} of {len(votes)} votes "
                 f"to approve, {members} members)", conference_id=conference.id, outcome=outcome,
                 approvals=approvals, votes=len(votes), members=members)
    data["conference_outcome"] = outcome
    return finish(ctx, case, data, outcome=outcome, approvals=approvals, votes=len(votes))


@operation("committee.decide")
def decide(ctx: OperationContext, data: dict, conference_id: int) -> dict:
    """003 §5.2.3: without a quorum, the project director decides."""
    conference = _conference(ctx, conference_id)
    case = case_of(ctx)
    actor = get_user(ctx.uow.session, ctx.actor_id) if ctx.actor_id is not None else None
    if actor is None or "director" not in actor.roles:
        raise Forbidden("only the project director decides a conference without a quorum")
    if conference.outcome != "no_quorum":
        raise Conflict("this conference has already been decided")
    vote = data.get("vote")
    if vote not in VOTES:
        raise Invalid(N_("%(value)s is not a decision") % {"value": repr(vote)}, errors={"vote": list(VOTES)})
    texts = take_text(data, "comment")
    conference.outcome = "approved" if vote == "approve" else "rejected"
    conference.decided_at, conference.decided_by = clock.now(), actor.id
    record_event(ctx.uow, case, actor.id, "conference",
                 f"{conference.kind} conference decided by the director: {conference.outcome}",
                 form="committee_director_decision", conference_id=conference.id, **texts)
    data["conference_outcome"] = conference.outcome
    return finish(ctx, case, data, outcome=conference.outcome)
