"""Faults in production lose no work (issue 18, findings 1 to 3), on the production topology:
real PostgreSQL, a Redis of its own, gunicorn, two dramatiq workers, the sweeper and the
supervisor, with the repository's workflows and short sweep and visibility intervals.

- A crisis fan-out's message is in Redis when Redis is flushed (the workers stopped): once
  the workers are back, every affected case gets its check exactly once, within one sweep.
- A worker is killed while it starts the checks of a 600-case fan-out: every check exists
  within 10 s of the declaration, each once, and the supervisor restarts the worker.
- The database terminates the app's connections every 0.5 s during a burst of referrals and
  task completions: no answer is a 500, every 503 (with Retry-After) corresponds to no
  committed change, and retries with the same Idempotency-Key create no duplicate.

Each test prints its figures. The time limits are the issue's, for an otherwise idle host;
on a shared one (a load average above the number of cores, as when the suites of several
people run at once) they are stretched by that ratio, which the figures show (``load x``).
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
import urllib.error
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import redis
from sqlalchemy import create_engine, func, insert, select, text, update

from engine.models import Case, CaseClientLink, Client, HumanTask, ProcessInstance, User
from engine.models.crisis import Crisis, CrisisCaseCheck
from engine.models.ops import WorkerHeartbeat
from engine.models.work import OutboxMessage
from engine.settings import PROJECT_ROOT
from tests.conftest import PG_ADMIN_URL
from tests.integration.conftest import host_load

VISIBILITY_S, JOB_SWEEP_S, HEARTBEAT_S, STALE_S = 6.0, 1.0, 0.5, 2.5
TOPOLOGY_ENV = {"WORKFLOWS_DIR": str(PROJECT_ROOT / "workflows"), "JOB_VISIBILITY_SECONDS": str(VISIBILITY_S),
                "JOB_SWEEP_SECONDS": str(JOB_SWEEP_S), "HEARTBEAT_SECONDS": str(HEARTBEAT_S),
                "WORKER_STALE_SECONDS": str(STALE_S), "CRISIS_CHECK_BATCH": "25"}
FUNCTIONS = ["5.3", "5.4"]  # sub-functions serving the "implementation" stage
FAN_OUT_LIMIT_S = 10.0


def scalar(topology, query):
    with topology.ctx.session_factory() as s:
        return s.scalar(query)


def seed_open_cases(topology, prefix: str, count: int) -> None:
    """``count`` open cases in implementation, by bulk insert; every earlier case closed and
    every earlier disruption ended, so that the next declaration reaches exactly these."""
    now = dt.datetime.now(dt.UTC)
    with topology.ctx.session_factory() as s:
        caseworker = s.scalar(select(User.id).where(User.username == "caseworker1"))
        supervisor = s.scalar(select(User.id).where(User.username == "supervisor1"))
        s.execute(update(Case).values(status="C"))
        s.execute(update(Crisis).values(active_slot=None, status="closed", closed_at=now))
        s.execute(insert(Case), [
            {"code": f"{prefix}-{i:04d}", "status": "O", "stage": "implementation",
             "risk_level": ("high", "medium", "low")[i % 3], "risk_needs_judgement": False, "in_crisis": i % 20 == 0,
             "caseworker_id": caseworker, "supervisor_id": supervisor, "primary_concern": "",
             "referral_source": "integration", "confidential_notes": "",
             "date_next_contact": now + dt.timedelta(hours=i % 200), "created_at": now, "updated_at": now}
            for i in range(count)])
        s.commit()


def declare(topology) -> int:
    status, body = topology.call("POST", "/api/crises", {"kind": "it_failure", "description": "Server room flooded",
                                                         "affected_functions": FUNCTIONS}, "crisislead1")
    assert status == 201, body
    return body["id"]


def started_checks(topology, crisis_id: int) -> int:
    return scalar(topology, select(func.count()).select_from(CrisisCaseCheck).where(
        CrisisCaseCheck.crisis_id == crisis_id, CrisisCaseCheck.instance_id.is_not(None)))


def assert_one_check_per_case(topology, crisis_id: int, prefix: str, count: int) -> None:
    with topology.ctx.session_factory() as s:
        per_case = dict(s.execute(select(ProcessInstance.case_code, func.count()).where(
            ProcessInstance.process_id == "bcp_crisis_check", ProcessInstance.case_code.like(f"{prefix}-%"))
            .group_by(ProcessInstance.case_code)).all())
        checks = s.scalar(select(func.count()).select_from(CrisisCaseCheck)
                          .where(CrisisCaseCheck.crisis_id == crisis_id))
        planned = s.get(Crisis, crisis_id).checks_planned_at
    assert planned is not None and checks == count
    assert len(per_case) == count and set(per_case.values()) == {1}, "a case without its check, or with two"


def plan_job(topology, crisis_id: int) -> OutboxMessage:
    with topology.ctx.session_factory() as s:
        return s.scalar(select(OutboxMessage).where(OutboxMessage.actor == "crisis_plan_checks",
                                                    OutboxMessage.args_json == f"[{crisis_id}]"))


def test_after_a_redis_flush_with_a_fan_out_queued_every_case_gets_its_check_once_within_one_sweep(topology):
    count = 300
    seed_open_cases(topology, "FLUSH", count)
    for worker in ("worker-1", "worker-2"):
        topology.prodctl("stop", worker)
    crisis_id = declare(topology)  # its fan-out job goes to Redis, where no worker takes it
    job = plan_job(topology, crisis_id)
    assert job.sent_at is not None and job.done_at is None
    client = redis.Redis.from_url(topology.redis.url)
    try:
        queued = client.dbsize()
        client.flushall()  # the message is gone; only the database still knows the job
    finally:
        client.close()
    flushed_at = dt.datetime.now(dt.UTC)
    topology.wait_for(lambda: plan_job(topology, crisis_id).redeliver_after <= dt.datetime.now(dt.UTC), 30,
                      "the job to pass its visibility timeout")  # lost for good, as far as anyone can tell
    for worker in ("worker-1", "worker-2"):
        topology.prodctl("start", worker)
    topology.wait_for(lambda: started_checks(topology, crisis_id) == count, 90, "every check after the flush")
    assert_one_check_per_case(topology, crisis_id, "FLUSH", count)
    with topology.ctx.session_factory() as s:  # the first worker back: its heartbeat's start
        back_at = s.scalar(select(func.min(WorkerHeartbeat.started_at)).where(
            WorkerHeartbeat.kind == "worker", WorkerHeartbeat.started_at > flushed_at))
        last_check = s.scalar(select(func.max(ProcessInstance.created_at)).where(
            ProcessInstance.process_id == "bcp_crisis_check", ProcessInstance.case_code.like("FLUSH-%")))
    job = plan_job(topology, crisis_id)
    resent_after = (job.sent_at - back_at).total_seconds()
    all_after = (last_check - back_at).total_seconds()
    load = host_load()
    print(f"\nredis flush with a fan-out queued ({queued} Redis keys flushed, workers stopped): {count} cases, "  # noqa: T201
          f"{count} checks, one each; the lost fan-out job sent again {resent_after:.1f} s after the first worker "
          f"was back (sweep interval {JOB_SWEEP_S:.0f} s, visibility {VISIBILITY_S:.0f} s, sent {job.attempts} times "
          f"in all); the last check started {all_after:.1f} s after the first worker was back (load x{load:.1f})")
    assert job.attempts == 2 and job.outcome == "done"
    assert resent_after <= JOB_SWEEP_S * load  # the loss cost at most one sweep interval
    assert all_after <= (JOB_SWEEP_S + FAN_OUT_LIMIT_S) * load


def worker_holding_a_batch(topology) -> tuple[str, str] | None:
    """(the prodctl name of a worker that runs a batch of the fan-out right now, its worker id)."""
    with topology.ctx.session_factory() as s:
        held = s.execute(select(WorkerHeartbeat.parent_pid, WorkerHeartbeat.worker_id).join(
            OutboxMessage, OutboxMessage.claimed_by == WorkerHeartbeat.worker_id).where(
            OutboxMessage.actor == "crisis_start_checks", OutboxMessage.done_at.is_(None)).limit(1)).first()
    for name in ("worker-1", "worker-2"):
        if held is not None and topology.pid(name) == held[0]:
            return name, held[1]
    return None


def batches_of(topology, crisis_id: int, *where) -> list[OutboxMessage]:
    with topology.ctx.session_factory() as s:
        return list(s.scalars(select(OutboxMessage).where(
            OutboxMessage.actor == "crisis_start_checks", OutboxMessage.args_json.like(f"[{crisis_id},%"), *where)))


def test_a_worker_killed_during_a_fan_out_of_600_cases_delays_no_check_beyond_10_s(topology):
    count = 600
    seed_open_cases(topology, "KILL", count)
    declared, declared_at = time.monotonic(), dt.datetime.now(dt.UTC)
    crisis_id = declare(topology)
    holding = None
    while holding is None and started_checks(topology, crisis_id) < count:
        if time.monotonic() - declared > 60:
            raise AssertionError(f"no worker took a batch within 60 s\n{topology.logs()}")
        holding = worker_holding_a_batch(topology)
        time.sleep(0.02)
    assert holding is not None, "the fan-out ended before a worker could be killed: make the batches slower"
    victim, victim_id = holding
    old_pid = topology.pid(victim)
    os.killpg(old_pid, signal.SIGKILL)  # kill -9 of its process group, mid-batch: the batch rolls back with it
    killed, killed_at = time.monotonic(), dt.datetime.now(dt.UTC)
    at_kill = started_checks(topology, crisis_id)
    cut_off = [b.id for b in batches_of(topology, crisis_id, OutboxMessage.claimed_by == victim_id,
                                        OutboxMessage.done_at.is_(None))]
    first_resent: dict[int, float] = {}  # a cut-off batch -> when it was first seen sent again

    def all_started() -> bool:
        for batch in batches_of(topology, crisis_id, OutboxMessage.id.in_(cut_off), OutboxMessage.sent_at > killed_at):
            first_resent.setdefault(batch.id, time.monotonic() - killed)
        return started_checks(topology, crisis_id) == count

    topology.wait_for(all_started, 120, "every check after the kill")
    all_done = time.monotonic() - declared
    assert_one_check_per_case(topology, crisis_id, "KILL", count)
    topology.wait_for(lambda: topology.pid(victim) != old_pid, 15, f"the supervisor to restart {victim}")
    batches = batches_of(topology, crisis_id)
    recovered = [b for b in batches if b.id in cut_off]
    resent_in = max(first_resent.get(b.id, float("inf")) for b in recovered) if recovered else 0.0
    recovered_in = max((b.done_at - killed_at).total_seconds() for b in recovered) if recovered else 0.0
    with topology.ctx.session_factory() as s:
        planned_in = (s.get(Crisis, crisis_id).checks_planned_at - declared_at).total_seconds()
    runners = {b.claimed_by for b in batches}  # which worker process ran each batch
    load = host_load()
    print(f"\nworker killed during a fan-out: {count} cases in {len(batches)} batches, planned "  # noqa: T201
          f"{planned_in:.1f} s after the declaration; {victim} killed {killed - declared:.1f} s after the declaration "
          f"holding {len(cut_off)} batch(es), {at_kill} checks started; those batches sent again within "
          f"{resent_in:.1f} s of the kill and done within {recovered_in:.1f} s (stale after {STALE_S:g} s); all "
          f"{count} checks {all_done:.1f} s after the declaration (limit {FAN_OUT_LIMIT_S:.0f} s, load x{load:.1f}); "
          f"{victim} restarted by the supervisor; batches ran on {len(runners)} worker processes")
    assert cut_off and len(recovered) == len(cut_off), "the kill cut off no batch: nothing had to be recovered"
    assert all(b.done_at is not None and b.sent_at > killed_at for b in recovered)
    assert resent_in <= (STALE_S + JOB_SWEEP_S) * load + 1  # re-run within seconds, not a minute
    assert all_done <= FAN_OUT_LIMIT_S * load
    # both workers took a share: the victim held a batch when it died (run again since by another
    # process, whose id the row now carries) and the others ran the rest — with the restarted one,
    # maybe three; a fan-out that ends before the supervisor's restart leaves that one nothing
    assert len(runners | {victim_id}) >= 2


# -- finding 2: connection loss ---------------------------------------------------------------
NEEDS = {"red_needs": ["child_at_risk"], "yellow_needs": [], "summary": "checked on the family"}
TERMINATE_EVERY_S = 0.5
RETRYABLE = {0, 500, 502, 503, 504, 409}  # 0: no HTTP answer at all; 409: the first try still runs


@dataclass
class Call:
    kind: str  # referral | completion
    target: str  # the referral's client name, or the task id
    key: str | None
    answers: list[tuple[int, bool, bool]] = field(default_factory=list)  # (status, replayed, "applied")

    @property
    def final(self) -> int:
        return self.answers[-1][0]


class Terminator(threading.Thread):
    """Ends every connection to the topology's database every ``every_s`` seconds."""

    def __init__(self, database: str, every_s: float):
        super().__init__(daemon=True)
        self.engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.every_s = every_s
        self.database, self.stopping, self.terminated, self.rounds = database, threading.Event(), 0, 0

    def run(self) -> None:
        with self.engine.connect() as conn:
            while not self.stopping.wait(self.every_s):
                self.terminated += conn.scalar(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": self.database})
                self.rounds += 1

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)
        self.engine.dispose()


def send(topology, call: Call) -> None:
    """One call; a keyed one is sent again, with its key, until it is answered."""
    path, body = ("/api/cases", {"referral": {"source": "school", "primary_concern": "neglect"},
                                 "client": {"name": call.target}}) if call.kind == "referral" else \
        (f"/api/tasks/{call.target}/complete", {"data": NEEDS})
    headers = {} if call.key is None else {"Idempotency-Key": call.key}
    for _ in range(40):
        try:
            status, answer, got = topology.request("POST", path, body, "caseworker1", headers, timeout=20)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            status, answer, got = 0, {}, {}
        call.answers.append((status, got.get("Idempotent-Replayed") == "true", bool(answer.get("applied"))))
        if call.key is None or status not in RETRYABLE:
            return
        time.sleep(min(float(got.get("Retry-After", 0.2)), 0.3))


def ready_sample_tasks(topology, count: int) -> list[str]:
    """``count`` sample intakes, each with its first task claimed by caseworker1 (ids in order)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        instances = list(pool.map(lambda _: topology.start_instance("sample_intake", {}), range(count)))
        status, listed = topology.call("GET", "/api/tasks?scope=claimable&limit=500", user="caseworker1")
        assert status == 200, listed
        task_of = {t["instance_id"]: t["id"] for t in listed["tasks"]}
        ids = [task_of[instance] for instance in instances]
        claimed = list(pool.map(lambda task: topology.call("POST", f"/api/tasks/{task}/claim", user="caseworker1")[0],
                                ids))
    assert set(claimed) == {200}, Counter(claimed)
    return ids


def committed(topology, call: Call) -> int:
    """How many times the call's change is in the database (a case per referral, a done task)."""
    with topology.ctx.session_factory() as s:
        if call.kind == "referral":
            return s.scalar(select(func.count()).select_from(Case).join(CaseClientLink).join(Client)
                            .where(Client.name == call.target))
        return int(s.get(HumanTask, call.target).state == "completed")


def test_under_connection_loss_no_error_hides_a_committed_change_and_retries_duplicate_nothing(topology):
    keyed, unkeyed = 80, 20
    tasks = ready_sample_tasks(topology, keyed + unkeyed)
    calls = ([Call("referral", f"Conn Child K{i}", f"referral-{i}") for i in range(keyed)]
             + [Call("completion", task, f"complete-{i}") for i, task in enumerate(tasks[:keyed])]
             + [Call("referral", f"Conn Child U{i}", None) for i in range(unkeyed)]
             + [Call("completion", task, None) for task in tasks[keyed:]])
    calls = calls[::2] + calls[1::2]  # referrals and completions interleaved
    topology.token("caseworker1")
    load = host_load()  # a request takes that much longer: so do the intervals between two losses
    terminator = Terminator(topology.env["DATABASE_URL"].rsplit("/", 1)[1], TERMINATE_EVERY_S * load)
    started = time.monotonic()
    terminator.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda call: send(topology, call), calls))
    finally:
        terminator.stop()
    burst_s = time.monotonic() - started
    answers = Counter(status for call in calls for status, _, _ in call.answers)
    lying, duplicates, unanswered, applied = [], [], [], 0
    for call in calls:
        made = committed(topology, call)
        failed_first = call.answers[0][0] >= 500 or call.answers[0][0] == 0
        if call.key is None:
            if call.final >= 500 and made:  # an error answer for a change that was made
                lying.append(call)
            continue
        if made != 1:
            (duplicates if made > 1 else unanswered).append(call)
        first_success = next((a for a in call.answers if 200 <= a[0] < 300), None)
        if failed_first and first_success is not None and first_success[1]:
            lying.append(call)  # its retry found the change already made: the error hid it
        applied += sum(1 for _, _, was_applied in call.answers if was_applied)
    retries = sum(len(call.answers) - 1 for call in calls)
    print(f"\nconnection loss every {terminator.every_s:.1f} s (load x{load:.1f}): {len(calls)} calls "  # noqa: T201
          f"({2 * keyed} with a key) in "
          f"{burst_s:.1f} s, {sum(answers.values())} answers {dict(sorted(answers.items()))}, {terminator.terminated} "
          f"connections terminated in {terminator.rounds} rounds, {retries} retries; {applied} answered 202 "
          f"applied; 5xx hiding a committed change: {len(lying)}; duplicates: {len(duplicates)}; keyed calls never "
          f"carried out: {len(unanswered)}")
    assert terminator.terminated > 0 and answers[503] > 0, "no connection was lost during the burst"
    assert answers[500] == 0, [c.answers for c in calls if any(a[0] == 500 for a in c.answers)]
    assert lying == [] and duplicates == [] and unanswered == []
    assert all(200 <= call.final < 300 for call in calls if call.key is not None)
