"""Back up the whole database with a manifest, and prove a backup restores
(``python -m webui.cli backup PATH`` / ``restore PATH --verify``).

**Taking one.** PostgreSQL: ``pg_dump`` (custom format) of a snapshot exported by a
repeatable-read transaction, in which the manifest's row counts and audit head are read
too — so the counts describe exactly what the dump holds, while the service keeps writing.
SQLite: SQLite's online backup API copies the live file (WAL and all) page by page; the
counts are read from the copy. The copy is written under a temporary name and renamed, and
the manifest (``engine.service_ops.backup_manifest``) written last: a backup that failed
half way is never taken for one.

**Verifying one.** The copy's size and checksum against the manifest (a changed or cut-off
file stops here, before anything is restored); then a restore into a scratch database
(PostgreSQL: a new database on the same server, dropped afterwards; SQLite: a temporary
file), SQLite's ``integrity_check``, the row count of every table, the schema revision, and
the audit chain walked link by link (``engine.infra.audit_chain``) up to the head the
manifest names. The live database is never touched.

The PostgreSQL tools are those of the server's major version when installed
(``/usr/lib/postgresql/<major>/bin``, or ``PG_BIN_DIR``), else the ones on ``PATH``.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from engine import clock
from engine.infra import audit_chain
from engine.service_ops import backup_manifest
from engine.service_ops.backup_manifest import BackupUnusable, Manifest, Snapshot

TOOL_TIMEOUT_S = 6 * 3600


@dataclass
class VerifyReport:
    path: str
    manifest: Manifest | None = None
    restored: Snapshot | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.ok and self.restored is not None:
            return (f"restore verified: {len(self.restored.tables)} tables, {self.restored.rows} rows and "
                    f"{self.restored.audit.rows} audit rows match the manifest of {self.manifest.taken_at}"
                    if self.manifest else "restore verified")
        return "restore verify FAILED: " + "; ".join(self.problems)


# -- taking a backup ------------------------------------------------------------------------
def take(url: str, path: str | Path) -> Manifest:
    """Back up the database at ``url`` to ``path`` (a file, or a directory to put it in)."""
    copy, manifest_path = backup_manifest.paths(path)
    copy.parent.mkdir(parents=True, exist_ok=True)
    partial = copy.with_name(f".{copy.name}.partial-{os.getpid()}")
    backend = make_url(url).get_backend_name()
    try:
        if backend == "sqlite":
            state = _sqlite_copy(url, partial)
        elif backend == "postgresql":
            state = _pg_dump(url, partial)
        else:
            raise BackupUnusable(f"backups of {backend} databases are not supported")
        os.replace(partial, copy)
    finally:
        partial.unlink(missing_ok=True)
    manifest = Manifest(backend=backend, taken_at=clock.now().isoformat(timespec="seconds"),
                        database_file=copy.name, size=copy.stat().st_size, sha256=backup_manifest.file_sha256(copy),
                        schema_revision=state.schema_revision, tables=state.tables, audit=state.audit)
    manifest_path.write_text(manifest.to_json(), encoding="utf-8")
    return manifest


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupUnusable("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _sqlite_copy(url: str, target: Path) -> Snapshot:
    source_path = _sqlite_file(url)
    if not source_path.is_file():
        raise BackupUnusable(f"no database file at {source_path}")
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination)
        destination.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    except sqlite3.Error as err:
        raise BackupUnusable(f"SQLite could not copy {source_path}: {err}") from err
    finally:
        destination.close()
        source.close()
    with _sqlite_engine(target) as engine, engine.connect() as conn:
        return backup_manifest.snapshot(conn)


@contextmanager
def _sqlite_engine(path: Path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        engine.dispose()


def _pg_dump(url: str, target: Path) -> Snapshot:
    engine = create_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            snapshot_id = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            state = backup_manifest.snapshot(conn)
            tool = pg_tool("pg_dump", conn)
            _run([tool, "--format=custom", f"--snapshot={snapshot_id}", f"--file={target}"], make_url(url))
    except SQLAlchemyError as err:
        raise BackupUnusable(f"the database cannot be read: {str(err).splitlines()[0]}") from err
    finally:
        engine.dispose()
    return state


def pg_tool(name: str, conn) -> str:
    """The path of PostgreSQL's ``name`` tool matching the server's major version."""
    major = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    candidates = [Path(os.environ["PG_BIN_DIR"]) / name] if os.environ.get("PG_BIN_DIR") else []
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin") / name)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise BackupUnusable(f"{name} is not installed (PostgreSQL {major} client tools are needed)")
    return found


def _run(argv: list[str], url: URL) -> None:
    env = dict(os.environ)
    settings = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username, "PGPASSWORD": url.password,
                "PGDATABASE": url.database, "PGSSLMODE": url.query.get("sslmode")}
    env.update({key: str(value) for key, value in settings.items() if value})
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise BackupUnusable(f"{Path(argv[0]).name} could not run: {err}") from err
    if done.returncode != 0:
        tail = " ".join(done.stderr.strip().splitlines()[-3:]) or f"exit status {done.returncode}"
        raise BackupUnusable(f"{Path(argv[0]).name} failed: {tail}")


# -- verifying one ------------------------------------------------------------------------------
RestoredCheck = Callable[[Session], list[str]]  # a check of the restored copy: what is wrong with it, in words


def verify(url: str, path: str | Path, checks: Sequence[RestoredCheck] = ()) -> VerifyReport:
    """Restore the backup at ``path`` into a scratch database (on the server of ``url`` for
    PostgreSQL) and compare it with its manifest; then run each of ``checks`` on the restored
    copy (the command line adds the other contexts' own, such as the dashboard's kept case
    counts, which this module does not know). Raises ``BackupUnusable`` only when there is
    nothing to check (no manifest, a tool missing, the server out of reach)."""
    copy, manifest_path = backup_manifest.paths(path)
    report = VerifyReport(str(path))
    try:
        report.manifest = manifest = backup_manifest.read(manifest_path)
    except BackupUnusable as err:
        report.problems.append(err.message)
        return report
    copy = copy.with_name(manifest.database_file) if manifest.database_file else copy
    if not copy.is_file():
        report.problems.append(f"the database copy {copy} is missing")
        return report
    size = copy.stat().st_size
    if size != manifest.size:
        report.problems.append(f"the database copy {copy.name} is {size} bytes, the manifest says {manifest.size} "
                               "(cut short or replaced)")
        return report
    if backup_manifest.file_sha256(copy) != manifest.sha256:
        report.problems.append(f"the database copy {copy.name} was altered: its checksum does not match the manifest")
        return report
    restore = _restored_sqlite if manifest.backend == "sqlite" else _restored_pg
    try:
        with restore(url, copy) as engine:
            _check_restored(engine, manifest, report, checks)
    except BackupUnusable as err:
        report.problems.append(err.message)
    return report


def _check_restored(engine: Engine, manifest: Manifest, report: VerifyReport, checks: Sequence[RestoredCheck]) -> None:
    try:
        with engine.connect() as conn:
            report.restored = backup_manifest.snapshot(conn)
        with Session(engine) as session:
            chain = audit_chain.verify(session)
    except SQLAlchemyError as err:
        report.problems.append(f"the restored copy cannot be read: {str(err).splitlines()[0]}")
        return
    report.problems += backup_manifest.differences(manifest, report.restored)
    if chain.broken is not None:
        report.problems.append(f"audit chain broken in the restored copy at {chain.broken.describe()}")
    for check in checks:
        with Session(engine) as session:
            try:
                report.problems += check(session)
            except SQLAlchemyError as err:
                report.problems.append(f"the restored copy could not be checked: {str(err).splitlines()[0]}")


@contextmanager
def _restored_sqlite(_url: str, copy: Path) -> Iterator[Engine]:
    with tempfile.TemporaryDirectory(prefix="casework-verify-") as scratch:
        target = Path(scratch) / "restored.db"
        shutil.copyfile(copy, target)
        try:
            with sqlite3.connect(target) as conn:
                result = conn.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as err:
            raise BackupUnusable(f"the database copy is not a readable SQLite database: {err}") from err
        if result != [("ok",)]:
            raise BackupUnusable("SQLite's integrity check of the restored copy failed: "
                                 + "; ".join(str(r[0]) for r in result[:3]))
        with _sqlite_engine(target) as engine:
            yield engine


@contextmanager
def _restored_pg(url: str, copy: Path) -> Iterator[Engine]:
    live = make_url(url)
    if live.get_backend_name() != "postgresql":
        raise BackupUnusable("a PostgreSQL backup is restored on a PostgreSQL server: set DATABASE_URL to one")
    name = f"{(live.database or 'casework')[:40]}_verify_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            tool = pg_tool("pg_restore", conn)
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
    except SQLAlchemyError as err:
        admin.dispose()
        raise BackupUnusable(f"no scratch database could be made: {str(err).splitlines()[0]}") from err
    scratch_url = live.set(database=name)
    engine = create_engine(scratch_url)
    try:
        _run([tool, "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={name}", str(copy)], scratch_url)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def taken_at(report: VerifyReport) -> dt.datetime | None:
    return report.manifest.taken if report.manifest else None
