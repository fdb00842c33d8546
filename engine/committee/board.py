"""The case committee's agenda (R03): what waits for my vote, and how conferences I sat
in went.

Before a member votes they see only how many have voted — never who or how, so nobody
votes under the influence of others; once their own vote is recorded they see every
member's vote and comment, the quorum progress and the outcome. Cases appear by code.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select

from engine import clock
from engine.case.dashboards import CaseSummary, case_summary
from engine.committee.review_conferences import kind_label
from engine.models import Case, HumanTask, TaskState, User, Vote
from engine.models.case_decisions import Conference
from engine.people.directory import get_user
from engine.process.decision_parameters import decision_row
from engine.process.inbox import TaskRow, ordered, task_rows

COMMITTEE_ROLE = "committee_member"


@dataclass(frozen=True)
class CastVote:
    member: str
    vote: str
    comment: str
    at: dt.datetime


@dataclass(frozen=True)
class ConferenceView:
    id: int
    kind: str
    case_code: str
    opened_at: dt.datetime
    members: int
    votes_cast: int
    approvals: int
    quorum_percent: int | None
    approve_percent: int | None
    outcome: str | None
    decided_at: dt.datetime | None
    my_vote: CastVote | None
    votes: list[CastVote]  # empty until I have voted (or the conference is decided)

    @property
    def kind_label(self) -> str:
        """The kind of conference in words (pages never show the stored value)."""
        return kind_label(self.kind)

    @property
    def votes_needed(self) -> int | None:
        """Votes needed for a quorum (ceil of quorum_percent of the members)."""
        if self.quorum_percent is None:
            return None
        return -(-self.quorum_percent * self.members // 100)

    @property
    def quorum_reached(self) -> bool:
        return self.votes_needed is not None and self.votes_cast >= self.votes_needed


@dataclass(frozen=True)
class AgendaItem:
    task: TaskRow
    case: CaseSummary | None
    conference: ConferenceView | None


def _vote_tasks(user: User):
    return and_(HumanTask.state == TaskState.READY, HumanTask.role == COMMITTEE_ROLE,
                or_(HumanTask.assignee_id == user.id, HumanTask.assignee_id.is_(None)))


def pending_count(session, user_id: int) -> int:
    user = get_user(session, user_id)
    if COMMITTEE_ROLE not in user.roles:
        return 0
    return session.scalar(select(func.count(HumanTask.id)).where(_vote_tasks(user))) or 0


def _conference_view(session, conference: Conference, case_code: str, viewer: User) -> ConferenceView:
    members = json.loads(conference.member_ids_json or "[]")
    rows = session.execute(select(Vote, User.username).join(User, User.id == Vote.member_id)
                           .where(Vote.conference_id == conference.id).order_by(Vote.at)).all()
    votes = [CastVote(name, v.vote, v.comment or "", clock.as_utc(v.at)) for v, name in rows]
    mine = next((CastVote(name, v.vote, v.comment or "", clock.as_utc(v.at))
                 for v, name in rows if v.member_id == viewer.id), None)
    quorum, approve = conference.quorum_percent, conference.approve_percent
    if quorum is None or approve is None:
        rule = decision_row(session, "committee_rules", conference=conference.kind) or {}
        quorum = quorum if quorum is not None else rule.get("quorum_percent")
        approve = approve if approve is not None else rule.get("approve_percent")
    shown = votes if (mine is not None or conference.outcome is not None) else []
    return ConferenceView(conference.id, conference.kind, case_code, clock.as_utc(conference.opened_at), len(members),
                          len(votes), sum(1 for v in votes if v.vote == "approve"), quorum, approve,
                          conference.outcome, clock.as_utc(conference.decided_at), mine, shown)


def agenda(session, user_id: int) -> list[AgendaItem]:
    """Vote tasks waiting for this member, due first, with the case and the conference."""
    user = get_user(session, user_id)
    tasks = list(session.scalars(ordered(select(HumanTask).where(_vote_tasks(user))).limit(100)))
    items = []
    for row, task in zip(task_rows(session, tasks, clock.now()), tasks, strict=True):
        conference = session.scalar(select(Conference).where(Conference.instance_id == task.instance_id,
                                                             Conference.outcome.is_(None))
                                    .order_by(Conference.opened_at.desc()).limit(1))
        view = _conference_view(session, conference, task.case_code or "", user) if conference else None
        items.append(AgendaItem(row, case_summary(session, task.case_code), view))
    return items


def recent_conferences(session, user_id: int, limit: int = 20) -> list[ConferenceView]:
    """Conferences this member voted in, newest first, with everyone's votes."""
    user = get_user(session, user_id)
    rows = session.execute(select(Conference, Case.code).join(Case, Case.id == Conference.case_id)
                           .join(Vote, and_(Vote.conference_id == Conference.id, Vote.member_id == user.id))
                           .order_by(Conference.opened_at.desc()).limit(limit)).all()
    return [_conference_view(session, conference, code, user) for conference, code in rows]
