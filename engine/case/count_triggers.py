"""The triggers on ``cases`` that keep the dashboard's counts (``case_count_deltas``): are
they there, and putting back the ones that are not.

Migration 0021 created them. Without them every case written goes uncounted and the
supervisor dashboard drifts from the truth with each change: a ``batch_alter_table`` on
SQLite copies ``cases`` and drops the old table with its triggers, a restore of the tables
without their triggers, or ``ALTER TABLE cases DISABLE TRIGGER`` on PostgreSQL (a trigger
switched off counts as missing here). :func:`missing` names them; :func:`restore` creates
them again (and switches back on the ones switched off) with the same definitions as the
migration — the counts must then be rebuilt in the same transaction
(``engine.case.case_counts.mend``), since whatever changed without them was not counted.
"""
from __future__ import annotations

from sqlalchemy import text

NAMES = ("cases_counted_insert", "cases_counted_delete", "cases_counted_update")

_KEYS = "supervisor_id, caseworker_id, status, risk_level"
_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _KEYS.split(", "))
_OLD = ", ".join(f"OLD.{c}" for c in _KEYS.split(", "))
_NEW = ", ".join(f"NEW.{c}" for c in _KEYS.split(", "))

# PostgreSQL: statement triggers with transition tables for inserts and deletes (a bulk insert
# appends one row per group), a row trigger for a change of a counted column
_POSTGRES_FUNCTIONS = [
    f"""CREATE OR REPLACE FUNCTION case_count_deltas_on_insert() RETURNS trigger AS $$
BEGIN
    INSERT INTO case_count_deltas ({_KEYS}, delta)
    SELECT {_KEYS}, count(*) FROM new_cases GROUP BY {_KEYS};
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION case_count_deltas_on_delete() RETURNS trigger AS $$
BEGIN
    INSERT INTO case_count_deltas ({_KEYS}, delta)
    SELECT {_KEYS}, -count(*) FROM old_cases GROUP BY {_KEYS};
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION case_count_deltas_on_update() RETURNS trigger AS $$
BEGIN
    INSERT INTO case_count_deltas ({_KEYS}, delta)
    VALUES ({_OLD}, -1),
           ({_NEW}, 1);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
]
_POSTGRES_TRIGGERS = {
    "cases_counted_insert": "CREATE TRIGGER cases_counted_insert AFTER INSERT ON cases REFERENCING NEW TABLE AS "
                            "new_cases FOR EACH STATEMENT EXECUTE FUNCTION case_count_deltas_on_insert()",
    "cases_counted_delete": "CREATE TRIGGER cases_counted_delete AFTER DELETE ON cases REFERENCING OLD TABLE AS "
                            "old_cases FOR EACH STATEMENT EXECUTE FUNCTION case_count_deltas_on_delete()",
    "cases_counted_update": f"CREATE TRIGGER cases_counted_update AFTER UPDATE OF {_KEYS} ON cases FOR EACH ROW "
                            f"WHEN ({_CHANGED}) EXECUTE FUNCTION case_count_deltas_on_update()",
}
_SQLITE_TRIGGERS = {
    "cases_counted_insert": f"""CREATE TRIGGER cases_counted_insert AFTER INSERT ON cases BEGIN
    INSERT INTO case_count_deltas ({_KEYS}, delta) VALUES ({_NEW}, 1);
END""",
    "cases_counted_delete": f"""CREATE TRIGGER cases_counted_delete AFTER DELETE ON cases BEGIN
    INSERT INTO case_count_deltas ({_KEYS}, delta) VALUES ({_OLD}, -1);
END""",
    "cases_counted_update": f"""CREATE TRIGGER cases_counted_update AFTER UPDATE OF {_KEYS} ON cases WHEN {
        _CHANGED.replace("IS DISTINCT FROM", "IS NOT")} BEGIN
    INSERT INTO case_count_deltas ({_KEYS}, delta) VALUES ({_OLD}, -1), ({_NEW}, 1);
END""",
}


def _postgresql(session) -> bool:
    return bool(session.get_bind().dialect.name == "postgresql")


def _present(session) -> dict[str, bool]:
    """Each count trigger there is on ``cases``, and whether it is switched on."""
    if _postgresql(session):
        return {name: enabled for name, enabled in session.execute(text(
            "SELECT tgname, tgenabled <> 'D' FROM pg_trigger "
            "WHERE tgrelid = CAST('cases' AS regclass) AND NOT tgisinternal")).all()}
    return {name: True for name in session.scalars(text(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases'"))}


def _missing_from(present: dict[str, bool]) -> list[str]:
    return [name for name in NAMES if not present.get(name, False)]


def missing(session) -> list[str]:
    """The count triggers that are not on ``cases`` or are switched off (none: every case
    change is counted)."""
    return _missing_from(_present(session))


def restore(session) -> list[str]:
    """Create the missing count triggers again (switch back on the ones switched off), in the
    caller's transaction; which were put back. The caller rebuilds the counts before it
    commits (what changed without them was not counted)."""
    present = _present(session)
    gone = _missing_from(present)
    if not gone:
        return []
    if _postgresql(session):
        for statement in _POSTGRES_FUNCTIONS:
            session.execute(text(statement))
        for name in gone:
            session.execute(text(f"ALTER TABLE cases ENABLE TRIGGER {name}" if name in present
                                 else _POSTGRES_TRIGGERS[name]))
    else:
        for name in gone:
            session.execute(text(_SQLITE_TRIGGERS[name]))
    return gone
