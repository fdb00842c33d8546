"""Fuzzing the HTTP API from its own OpenAPI document (CONTRACT "Limits and bad input").

schemathesis generates requests for every operation of ``/api/openapi.json`` — valid ones
and ones that break the schema (wrong types, out-of-range numbers, odd strings) — and sends
each, in-process through WSGI, as every demo user and without credentials. Promised:

- no operation ever answers 5xx, whoever asks and whatever is sent;
- no operation except signing in answers 2xx to a caller without credentials.

``make test`` runs a short, deterministic pass (a few examples per operation, embedded
database); ``make fuzz`` a longer one (``FUZZ_EXAMPLES``, default 200).
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from engine.settings import Settings
from tests.conftest import WORKFLOWS
from webui.app import create_app

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))  # per operation and mode; `make fuzz`: 200
DEMO_USERS = ("caseworker1", "caseworker2", "supervisor1", "director1", "committee1", "committee2",
              "processowner1", "crisislead1", "admin")
OPEN_OPERATIONS = {("POST", "/api/auth/token")}  # everything else needs a signed-in caller
# ends the caller's own token: tried last, once every other operation has been tried with it
ENDS_THE_SIGN_IN = {("POST", "/api/auth/logout")}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    """One embedded app for the whole run (the requests build on each other's data)."""
    base = tmp_path_factory.mktemp("fuzz")
    app = create_app(Settings(database_url=f"sqlite:///{base / 'fuzz.db'}", secret_key="fuzz-secret", demo=True,
                              workflows_dir=WORKFLOWS, instance_dir=base / "instance", in_process_worker=False,
                              testing=True), start_worker=False)
    yield app
    app.extensions["task_queue"].stop()
    app.extensions["engine_ctx"].engine.dispose()


def sign_in(app, username: str) -> dict[str, str]:
    resp = app.test_client().post("/api/auth/token", json={"username": username, "password": "demo"})
    assert resp.status_code == 200, resp.get_json()
    return {"Authorization": f"Bearer {resp.get_json()['access_token']}"}


@pytest.fixture(scope="module")
def callers(fuzz_app) -> dict[str, dict[str, str]]:
    """Authorization headers per demo user, and none for a stranger."""
    return {"stranger": {}, **{username: sign_in(fuzz_app, username) for username in DEMO_USERS}}


@pytest.fixture(scope="module")
def operations(fuzz_app) -> list:
    """Every operation of the app's OpenAPI document (a document schemathesis cannot read fails here)."""
    api = schemathesis.openapi.from_wsgi("/api/openapi.json", fuzz_app)
    return [result.ok() for result in api.get_all_operations()]


@pytest.fixture(scope="module")
def known_ids(fuzz_app, callers) -> dict[str, object]:
    """Ids of things that exist (a case, its task and instance, a crisis, a notification), so the
    fuzzed queries and bodies also reach the views behind the 404s of made-up ids."""
    client = fuzz_app.test_client()
    case = client.post("/api/cases", headers=callers["supervisor1"], json={
        "referral": {"source": "ngo", "primary_concern": "fuzzing"}, "client": {"name": "Fuzz"}}).get_json()
    crisis = client.post("/api/crises", headers=callers["crisislead1"], json={
        "kind": "other", "description": "fuzzing", "affected_functions": ["5.1"]}).get_json()
    tasks = client.get("/api/tasks?scope=claimable", headers=callers["caseworker1"]).get_json()["tasks"]
    notes = client.get("/api/notifications", headers=callers["caseworker1"]).get_json()["notifications"]
    known = {"case_code": case["case_code"], "instance_id": case["process_instance_id"], "crisis_id": crisis["id"],
             "task_id": tasks[0]["id"], "process_id": "sample_intake"}
    return known | ({"notification_id": notes[0]["id"]} if notes else {})


def failures_of(operation, mode: GenerationMode, callers: dict, path_parameters: dict | None = None) -> list[str]:
    """Send ``FUZZ_EXAMPLES`` generated requests for one operation as every caller; what broke a promise."""
    key = (operation.method.upper(), operation.path)
    broken: list[str] = []

    @settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def send(case):
        for caller, headers in callers.items():
            response = case.call(headers=headers)
            status = response.status_code
            if status >= 500 or (not headers and key not in OPEN_OPERATIONS and 200 <= status < 300):
                broken.append(f"{key[0]} {case.formatted_path} as {caller} ({mode.value}): {status}\n"
                              f"  {case.as_curl_command()}\n  {response.text[:300]}")

    try:
        send()
    except Unsatisfiable:  # nothing of this operation can be made invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE, key
    return broken


def path_names(operation) -> set[str]:
    return {p.name for p in operation.path_parameters}


def test_no_operation_answers_5xx_and_none_answers_2xx_without_credentials(operations, callers, known_ids):
    """Each operation with made-up path ids, then (where the ids exist) with real ones; the
    operations ending the sign-in last of all."""
    runs: list[tuple] = []
    for operation in operations:
        runs += [(operation, mode, None) for mode in GenerationMode]
        names = path_names(operation)
        if names and names <= set(known_ids):
            runs += [(operation, mode, {n: known_ids[n] for n in names}) for mode in GenerationMode]
    runs.sort(key=lambda run: (run[0].method.upper(), run[0].path) in ENDS_THE_SIGN_IN)
    broken = [failure for operation, mode, ids in runs for failure in failures_of(operation, mode, callers, ids)]
    assert len(operations) > 30 and len(runs) > 2 * len(operations)
    assert broken == [], "\n".join(broken)
