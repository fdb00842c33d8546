"""The migrations build exactly the schema the models describe, on both databases, and the
audit trail is append-only in the database itself on PostgreSQL."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from engine.models import Base


def test_migrations_build_exactly_the_schema_of_the_models(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("statement", ["UPDATE audit_events SET action = 'nothing happened'",
                                       "DELETE FROM audit_events"])
def test_the_database_refuses_to_change_or_delete_audit_rows(database_url, statement):
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_events (at, action, subject_type, subject_id, detail_json) "
                              "VALUES (now(), 'case_file_viewed', 'case', '1', '{}')"))
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()
