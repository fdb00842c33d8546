"""Flask-SQLAlchemy owns the web app's sessions: one per request, on the engine's one database
engine, removed when the request ends; the unit of work runs on it without closing it, and a
use case reached from inside another gets a session of its own, so neither commits or
undoes the other's work."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.models import User
from webui.extensions import db, uow

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_the_request_session_is_flask_sqlalchemys_on_the_engines_one_engine(app):
    ctx = app.extensions["engine_ctx"]
    with app.test_request_context("/"):
        assert db.engine is ctx.engine  # one pool and one configuration for the web app and the workers
        with uow() as work:
            assert work.session is db.session()
            work.session.scalar(select(User.id).limit(1))
        assert db.session() is not None and db.session().is_active  # left open for its owner
        session = db.session()
    with app.test_request_context("/"):
        assert db.session() is not session  # the next request has its own


def test_what_a_use_case_did_not_commit_is_undone_and_the_session_stays_usable(app):
    with app.test_request_context("/"):
        with pytest.raises(RuntimeError), uow() as work:
            work.session.get(User, 1).display_name = "Half Written"
            work.session.flush()
            raise RuntimeError("the use case failed before its commit")
        with uow() as work:
            assert work.session.get(User, 1).display_name != "Half Written"
            work.session.get(User, 1).display_name = "Committed Name"
            work.commit()
    with app.extensions["engine_ctx"].uow() as other:
        assert other.session.get(User, 1).display_name == "Committed Name"


def test_a_use_case_inside_another_has_its_own_session_and_commits_only_its_own_work(app):
    with app.test_request_context("/"):
        with uow() as outer:
            outer.session.get(User, 1).display_name = "Outer, not committed"  # pending: a shared session would
            with uow() as inner:  # commit it with the inner use case's work (e.g. a sign-in check inside a view's)
                assert inner.session is not outer.session
                inner.session.get(User, 2).display_name = "Inner, committed"
                inner.commit()
    with app.extensions["engine_ctx"].uow() as check:
        assert check.session.get(User, 2).display_name == "Inner, committed"
        assert check.session.get(User, 1).display_name != "Outer, not committed"
