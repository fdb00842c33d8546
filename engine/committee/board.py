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
from engine.case.dashboards import CaseSummary, case_summaries
from engine.committee.review_conferences import kind_label
from engine.models import Case, HumanTask, ProcessInstance, ProcessModel, TaskState, User, Vote
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
    # held by me, and offered to nobody in particular: each counted off its own index (an OR
    # of the two would read every row of both)
    ready = (HumanTask.state == TaskState.READY, HumanTask.role == COMMITTEE_ROLE)
    return sum(session.scalar(select(func.count()).select_from(HumanTask).where(*ready, holder)) or 0
               for holder in (HumanTask.assignee_id == user.id, HumanTask.assignee_id.is_(None)))


def _conference_views(session, conferences: list[tuple[Conference, str]], viewer: User) -> list[ConferenceView]:
    """Each (conference, case code) as the board shows it, the votes of all of them read at once."""
    ids = [conference.id for conference, _ in conferences]
    votes_of: dict[int, list[tuple[Vote, str]]] = {i: [] for i in ids}
    if ids:
        for vote, name in session.execute(select(Vote, User.username).join(User, User.id == Vote.member_id)
                                          .where(Vote.conference_id.in_(ids)).order_by(Vote.at, Vote.id)).all():
            votes_of[vote.conference_id].append((vote, name))
    rules: dict[str, dict] = {}  # the committee_rules row of each kind, read once per kind
    views = []
    for conference, case_code in conferences:
        rows = votes_of[conference.id]
        votes = [CastVote(name, v.vote, v.comment or "", clock.as_utc(v.at)) for v, name in rows]
        mine = next((CastVote(name, v.vote, v.comment or "", clock.as_utc(v.at))
                     for v, name in rows if v.member_id == viewer.id), None)
        quorum, approve = conference.quorum_percent, conference.approve_percent
        if quorum is None or approve is None:
            if conference.kind not in rules:
                rules[conference.kind] = decision_row(session, "committee_rules", conference=conference.kind) or {}
            rule = rules[conference.kind]
            quorum = quorum if quorum is not None else rule.get("quorum_percent")
            approve = approve if approve is not None else rule.get("approve_percent")
        shown = votes if (mine is not None or conference.outcome is not None) else []
        views.append(ConferenceView(conference.id, conference.kind, case_code, clock.as_utc(conference.opened_at),
                                    len(json.loads(conference.member_ids_json or "[]")), len(votes),
                                    sum(1 for v in votes if v.vote == "approve"), quorum, approve,
                                    conference.outcome, clock.as_utc(conference.decided_at), mine, shown))
    return views


AGENDA_LIMIT = 100


def agenda(session, user_id: int) -> list[AgendaItem]:
    """Vote tasks waiting for this member, due first, with the case and the conference
    (a fixed number of queries however many there are)."""
    user = get_user(session, user_id)
    tasks = list(session.scalars(ordered(select(HumanTask).where(_vote_tasks(user))).limit(AGENDA_LIMIT)))
    newest: dict[int, Conference] = {}  # the newest undecided conference of each task's instance
    if tasks:
        for conference in session.scalars(select(Conference).where(
                Conference.instance_id.in_(sorted({t.instance_id for t in tasks})), Conference.outcome.is_(None))
                .order_by(Conference.opened_at.desc(), Conference.id.desc())):
            newest.setdefault(conference.instance_id, conference)
    with_conference = [t for t in tasks if t.instance_id in newest]
    views = dict(zip((t.id for t in with_conference), _conference_views(
        session, [(newest[t.instance_id], t.case_code or "") for t in with_conference], user), strict=True))
    cases = case_summaries(session, (t.case_code for t in tasks))
    return [AgendaItem(row, cases.get(task.case_code or ""), views.get(task.id))
            for row, task in zip(task_rows(session, tasks, clock.now()), tasks, strict=True)]


def tasks_of(session, items: list[AgendaItem]) -> dict[str, HumanTask]:
    """The task rows of these agenda items, by id, in one query."""
    ids = sorted({item.task.id for item in items})
    return {t.id: t for t in session.scalars(select(HumanTask).where(HumanTask.id.in_(ids)))} if ids else {}


def models_of(session, instance_ids) -> dict[int, ProcessModel]:
    """The model version each of these instances runs on, by instance id (one query; the
    instances' state is not read)."""
    wanted = sorted(set(instance_ids))
    if not wanted:
        return {}
    rows = session.execute(select(ProcessInstance.id, ProcessModel)
                           .join(ProcessModel, ProcessModel.id == ProcessInstance.model_id)
                           .where(ProcessInstance.id.in_(wanted))).all()
    return {instance_id: model for instance_id, model in rows}


def recent_conferences(session, user_id: int, limit: int = 20) -> list[ConferenceView]:
    """Conferences this member voted in, newest first, with everyone's votes."""
    user = get_user(session, user_id)
    rows = session.execute(select(Conference, Case.code).join(Case, Case.id == Conference.case_id)
                           .join(Vote, and_(Vote.conference_id == Conference.id, Vote.member_id == user.id))
                           .order_by(Conference.opened_at.desc()).limit(limit)).all()
    return _conference_views(session, [(conference, code) for conference, code in rows], user)
