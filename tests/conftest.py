"""Shared fixtures: every database test runs on embedded SQLite and on real PostgreSQL.

PostgreSQL is used when reachable at ``TEST_POSTGRES_URL`` (default: the local server,
database ``casework_test``). With ``REQUIRE_SERVICES=1`` (set by .ci/run) an unreachable
PostgreSQL or Redis fails the run instead of skipping.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from engine import clock
from engine.infra import bootstrap, db
from engine.models import Base
from engine.settings import PROJECT_ROOT, Settings

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_TEST_DB = os.environ.get("TEST_POSTGRES_DB", "casework_test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
_migrated: dict[str, object] = {}
WORKFLOWS = PROJECT_ROOT / "workflows"


def _unavailable(what: str, why: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but unreachable: {why}")
    pytest.skip(f"{what} unreachable: {why}")


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres_only: runs on PostgreSQL only")
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line("markers", "alone: holds a time limit set for an otherwise idle machine; "
                                       "`make test` runs these after the parallel part, one at a time")


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh database for this test run (named per process, so parallel runs on one
    machine never share one), dropped at the end."""
    name = f"{PG_TEST_DB}_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as err:
        admin.dispose()
        _unavailable("PostgreSQL", str(err).splitlines()[0])
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    yield url
    engine = _migrated.pop(url, None)
    if engine is not None:
        engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url():
    import redis
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as err:
        _unavailable("Redis", str(err))
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path_factory):
    """A migrated, emptied database on each backend."""
    if request.param == "sqlite":
        path = tmp_path_factory.getbasetemp() / "casework-test.db"
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = _migrated.get(url)
    if engine is None:
        engine = db.make_engine(url)
        db.upgrade(engine)
        _migrated[url] = engine
    _empty(engine)
    yield url


@pytest.fixture
def backend(database_url) -> str:
    return "postgres" if database_url.startswith("postgresql") else "sqlite"


def _empty(engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    # last: SQLite's triggers append to them as the cases go
    tables = [t for t in tables if t not in KEPT_BY_TRIGGERS] + sorted(KEPT_BY_TRIGGERS)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(database_url=database_url, redis_url=None, secret_key="test-secret",
                    demo=True, workflows_dir=WORKFLOWS, instance_dir=tmp_path / "instance",
                    in_process_worker=False, testing=True, script_time_limit=2.0,
                    # the step budget's own tests set theirs; on a busy 2-core machine (CI running
                    # beside other work) a case step has overrun 30 s of wall clock, failing path
                    # tests at random: generic tests only guard against a runaway loop
                    step_time_limit=120.0,
                    migrate_on_start=False)  # the database_url fixture migrated it once


@pytest.fixture
def ctx(settings):
    """An engine context with the demo users and the repository's workflows deployed."""
    context = bootstrap.build(settings)
    deploy_and_seed(context)
    yield context
    context.engine.dispose()


# Deploying the repository's two dozen processes into each test's fresh database was most of
# the suite's time. The first test of a run (per database, workflows folder and frozen time)
# deploys and seeds for real; every row that left is remembered and later tests get the same
# rows inserted back, which is what the same deploy into an empty database would have written.
_baselines: dict[tuple, list[tuple[object, list[dict]]]] = {}
# written by the database's triggers as the rows above go back in (migration 0021): not copied
KEPT_BY_TRIGGERS = {"case_count_deltas"}


def deploy_and_seed(context) -> None:
    settings = context.settings
    key = (settings.database_url, str(settings.workflows_dir), settings.demo, settings.deploy_on_start,
           clock._frozen)
    engine = context.engine
    with engine.connect() as conn:
        empty = all(conn.execute(text(f'SELECT 1 FROM "{t}" LIMIT 1')).first() is None
                    for t in ("users", "process_models", "audit_events"))
    if not empty:  # a test that started twice: deploying again changes nothing, as in production
        bootstrap.deploy_and_seed(context)
        return
    baseline = _baselines.get(key)
    if baseline is None:
        bootstrap.deploy_and_seed(context)
        with engine.connect() as conn:
            _baselines[key] = [(table, [dict(r) for r in conn.execute(table.select()).mappings()])
                               for table in Base.metadata.sorted_tables if table.name not in KEPT_BY_TRIGGERS]
        return
    with engine.begin() as conn:
        for table, rows in baseline:
            if rows:
                conn.execute(table.insert(), rows)
        if engine.dialect.name == "postgresql":
            for table, rows in baseline:
                for column in table.primary_key.columns:
                    if rows and column.autoincrement in (True, "auto") and column.type.python_type is int:
                        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', "
                                          f"'{column.name}'), (SELECT max(\"{column.name}\") FROM \"{table.name}\"))"
                                          f" WHERE pg_get_serial_sequence('\"{table.name}\"', '{column.name}') "
                                          f"IS NOT NULL"))


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    """Argon2 with production cost takes ~0.1 s a hash; tests use the minimum so the suite
    stays fast. Hash verification logic is unchanged."""
    from argon2 import PasswordHasher

    from engine.people import accounts
    saved = accounts._hasher, accounts._DUMMY_HASH
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    accounts._DUMMY_HASH = accounts._hasher.hash("not-a-real-password")
    yield
    accounts._hasher, accounts._DUMMY_HASH = saved


@pytest.fixture(autouse=True)
def _release_clock():
    yield
    clock.freeze(None)


@pytest.fixture
def app(settings, monkeypatch):
    from webui.app import create_app
    with monkeypatch.context() as patched:
        patched.setattr(bootstrap, "start_up", deploy_and_seed)  # tests run embedded: start-up deploys and seeds
        application = create_app(settings, start_worker=False)
    yield application
    application.extensions["task_queue"].stop()
    application.extensions["engine_ctx"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token_for(client):
    """``token_for("caseworker1")`` → Authorization headers for that demo user. Tokens
    expire by the engine's clock, so a test that moves the frozen clock past a token's
    lifetime gets a fresh one on its next call."""
    cache: dict[str, tuple[dict, object]] = {}

    def get(username: str, password: str = "demo") -> dict:
        cached = cache.get(username)
        if cached is None or clock.now() >= cached[1]:
            resp = client.post("/api/auth/token", json={"username": username, "password": password})
            assert resp.status_code == 200, resp.get_json()
            body = resp.get_json()
            expires_at = clock.now() + dt.timedelta(seconds=body["expires_in"])
            cache[username] = ({"Authorization": f"Bearer {body['access_token']}"}, expires_at)
        return cache[username][0]

    return get


def fixture_path(*parts: str) -> Path:
    return Path(__file__).parent.joinpath(*parts)
