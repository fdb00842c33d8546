"""``python -m webui.cli backup PATH`` and ``restore PATH --verify`` (engine.service_ops.backup).

``backup PATH``: PATH is the database copy (its manifest is ``PATH.manifest.json``), or a
directory to put ``database.backup`` and its manifest in. Exit 0 with a one-line summary,
2 when no backup could be made (the database out of reach, pg_dump missing or failing).

``restore PATH --verify``: restore into a scratch database and check it against the
manifest; exit 0 when it matches, 1 naming every mismatch (a tampered or truncated copy, an
altered manifest, rows or audit chain that differ, the dashboard's kept case counts out of
step with the restored cases or their triggers missing), 2 when nothing could be checked. The
outcome is kept in the live database (when it is reachable and migrated) for the BCP
readiness "backup restore test".
"""
from __future__ import annotations

import logging
import sys

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from engine.case import case_counts
from engine.infra import bootstrap
from engine.service_ops import backup, backup_records
from engine.service_ops.backup_manifest import BackupUnusable
from engine.settings import Settings

log = logging.getLogger(__name__)


def add_parsers(commands) -> None:
    take = commands.add_parser("backup", help="back up the whole database, with a manifest")
    take.add_argument("path", help="the backup file (its manifest goes beside it), or a directory")
    restore = commands.add_parser("restore", help="restore a backup into a scratch database and check it")
    restore.add_argument("path", help="a backup made by `backup` (the file, or its directory)")
    restore.add_argument("--verify", action="store_true", required=True,
                         help="restore into a scratch database and compare it with the manifest (required: "
                              "the live database is never overwritten from here)")


def run(settings: Settings, args) -> int:
    if args.command == "backup":
        return take_backup(settings, args.path)
    return verify_backup(settings, args.path)


def take_backup(settings: Settings, path: str) -> int:
    try:
        manifest = backup.take(settings.database_url, path)
    except (BackupUnusable, OSError) as err:
        print(f"error: no backup made: {getattr(err, 'message', err)}", file=sys.stderr)
        return 2
    rows = sum(manifest.tables.values())
    print(f"backup written: {manifest.database_file} ({manifest.size} bytes, {len(manifest.tables)} tables, "
          f"{rows} rows, audit head at row {manifest.audit.head_id}, sha256 {manifest.sha256[:16]}…)")
    return 0


def verify_backup(settings: Settings, path: str) -> int:
    try:
        report = backup.verify(settings.database_url, path, checks=(case_counts.problems,))
    except OSError as err:
        print(f"error: the backup cannot be read: {err}", file=sys.stderr)
        return 2
    _keep(settings, report)
    if report.ok:
        print(report.summary())
        return 0
    print(f"restore verify FAILED for {path}:", file=sys.stderr)
    for problem in report.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1


def _keep(settings: Settings, report: backup.VerifyReport) -> None:
    """Record the outcome in the live database; a database out of reach is only a warning."""
    try:
        ctx = bootstrap.build(settings, migrate=False)
    except (bootstrap.SchemaNotCurrent, SQLAlchemyError) as err:
        log.warning("the outcome is not recorded (the live database is not usable: %s)", str(err).splitlines()[0])
        return
    try:
        with ctx.uow() as uow:
            backup_records.record(uow, report, make_url(settings.database_url).get_backend_name())
    except SQLAlchemyError as err:
        log.warning("the outcome is not recorded: %s", str(err).splitlines()[0])
    finally:
        ctx.engine.dispose()
