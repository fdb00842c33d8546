"""The supervisor's dashboard counts the team's cases by status, risk level and caseworker
from counts kept as cases change, instead of counting 100,000 cases on every view:
``case_count_deltas`` holds signed changes (+1 a case came into a group, -1 it left)
keyed by supervisor, caseworker, status and risk level, appended by triggers on ``cases``
(so every way those columns change is counted: the ORM, bulk UPDATEs, plain SQL). A group's
count is the sum of its rows; the periodic sweep folds the rows into one per group
(``engine.case.case_counts.fold``). Rows are only ever appended by case writes, never
updated in place: no case write waits on another for a shared counter row.

PostgreSQL: inserts and deletes are counted once per statement (a bulk insert of 100,000
cases appends one row per group), a change of a counted column once per row changed, and
only when one of them really changed. SQLite: one row per case inserted, changed or
deleted.

A later migration that rebuilds ``cases`` on SQLite (``batch_alter_table`` copies the
table and drops the old one, its triggers with it) must create these triggers again.

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

KEYS = "supervisor_id, caseworker_id, status, risk_level"
CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in KEYS.split(", "))

_POSTGRES = [
    f"""CREATE FUNCTION case_count_deltas_on_insert() RETURNS trigger AS $$
BEGIN
    INSERT INTO case_count_deltas ({KEYS}, delta)
    SELECT {KEYS}, count(*) FROM new_cases GROUP BY {KEYS};
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    f"""CREATE FUNCTION case_count_deltas_on_delete() RETURNS trigger AS $$
BEGIN
    INSERT INTO case_count_deltas ({KEYS}, delta)
    SELECT {KEYS}, -count(*) FROM old_cases GROUP BY {KEYS};
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    f"""CREATE FUNCTION case_count_deltas_on_update() RETURNS trigger AS $$
BEGIN
    INSERT INTO case_count_deltas ({KEYS}, delta)
    VALUES (OLD.supervisor_id, OLD.caseworker_id, OLD.status, OLD.risk_level, -1),
           (NEW.supervisor_id, NEW.caseworker_id, NEW.status, NEW.risk_level, 1);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    "CREATE TRIGGER cases_counted_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS new_cases "
    "FOR EACH STATEMENT EXECUTE FUNCTION case_count_deltas_on_insert()",
    "CREATE TRIGGER cases_counted_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS old_cases "
    "FOR EACH STATEMENT EXECUTE FUNCTION case_count_deltas_on_delete()",
    f"CREATE TRIGGER cases_counted_update AFTER UPDATE OF {KEYS} ON cases FOR EACH ROW WHEN ({CHANGED}) "
    "EXECUTE FUNCTION case_count_deltas_on_update()",
]
_POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS cases_counted_update ON cases",
    "DROP TRIGGER IF EXISTS cases_counted_delete ON cases",
    "DROP TRIGGER IF EXISTS cases_counted_insert ON cases",
    "DROP FUNCTION IF EXISTS case_count_deltas_on_update()",
    "DROP FUNCTION IF EXISTS case_count_deltas_on_delete()",
    "DROP FUNCTION IF EXISTS case_count_deltas_on_insert()",
]
_OLD = "OLD.supervisor_id, OLD.caseworker_id, OLD.status, OLD.risk_level"
_NEW = "NEW.supervisor_id, NEW.caseworker_id, NEW.status, NEW.risk_level"
_SQLITE = [
    f"""CREATE TRIGGER cases_counted_insert AFTER INSERT ON cases BEGIN
    INSERT INTO case_count_deltas ({KEYS}, delta) VALUES ({_NEW}, 1);
END""",
    f"""CREATE TRIGGER cases_counted_delete AFTER DELETE ON cases BEGIN
    INSERT INTO case_count_deltas ({KEYS}, delta) VALUES ({_OLD}, -1);
END""",
    f"""CREATE TRIGGER cases_counted_update AFTER UPDATE OF {KEYS} ON cases WHEN {CHANGED.replace(
        "IS DISTINCT FROM", "IS NOT")} BEGIN
    INSERT INTO case_count_deltas ({KEYS}, delta) VALUES ({_OLD}, -1), ({_NEW}, 1);
END""",
]
_SQLITE_DOWN = ["DROP TRIGGER IF EXISTS cases_counted_update", "DROP TRIGGER IF EXISTS cases_counted_delete",
                "DROP TRIGGER IF EXISTS cases_counted_insert"]


def upgrade() -> None:
    op.create_table(
        "case_count_deltas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=True),
        sa.Column("caseworker_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=2), nullable=False),
        sa.Column("risk_level", sa.String(length=10), nullable=True),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_count_deltas")),
    )
    op.create_index("ix_case_count_deltas_supervisor", "case_count_deltas", ["supervisor_id"])
    op.create_index("ix_case_count_deltas_caseworker", "case_count_deltas", ["caseworker_id"])
    for statement in _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)
    # the cases there are now, one row per group, after the triggers: on PostgreSQL creating them
    # locks ``cases`` against writes until this migration commits, so no change falls between
    op.execute(f"INSERT INTO case_count_deltas ({KEYS}, delta) SELECT {KEYS}, count(*) FROM cases GROUP BY {KEYS}")


def downgrade() -> None:
    for statement in _POSTGRES_DOWN if op.get_bind().dialect.name == "postgresql" else _SQLITE_DOWN:
        op.execute(statement)
    op.drop_index("ix_case_count_deltas_caseworker", table_name="case_count_deltas")
    op.drop_index("ix_case_count_deltas_supervisor", table_name="case_count_deltas")
    op.drop_table("case_count_deltas")
