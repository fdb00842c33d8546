"""The manifest of a backup: what the database held when it was taken, to check a restore
against.

A backup is two files: the database copy (``pg_dump`` custom format, or an SQLite file made
with SQLite's online backup) and, beside it, ``<copy>.manifest.json``::

    {"format": "casework-backup-1", "backend": "postgresql" | "sqlite", "taken_at": ISO 8601,
     "database_file": "<name of the copy>", "size": bytes, "sha256": "<of the copy>",
     "schema_revision": "0016", "tables": {"<table>": rows, ...},
     "audit": {"rows": n, "head_id": id | null, "head_hash": "..."},
     "manifest_sha256": "<of the canonical JSON of everything above>"}

Given a directory, a backup is ``database.backup`` and ``database.backup.manifest.json`` in it.

The checksums catch a copy or a manifest changed or cut short by accident or by someone who
does not recompute them; the counts and the audit head catch a copy that restores to
something else. Nothing here is signed: someone able to rewrite both files and every hash
can pass off another backup (keep a copy of the manifest, or its ``manifest_sha256``,
elsewhere — the verification record in the database keeps the time and path of each run).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import Connection

from engine.errors import DomainError
from engine.models import AuditChainHead, AuditEvent

FORMAT = "casework-backup-1"
MANIFEST_SUFFIX = ".manifest.json"
DIRECTORY_COPY = "database.backup"
_CHUNK = 1024 * 1024


class BackupUnusable(DomainError):
    """The backup cannot be read or checked at all (missing file, unreadable manifest, a
    tool that is not installed)."""


@dataclass(frozen=True)
class AuditHead:
    rows: int
    head_id: int | None
    head_hash: str


@dataclass(frozen=True)
class Snapshot:
    """What a database holds, as a manifest records it and a restore is checked against."""
    tables: dict[str, int]
    audit: AuditHead
    schema_revision: str | None

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@dataclass(frozen=True)
class Manifest:
    backend: str
    taken_at: str
    database_file: str
    size: int
    sha256: str
    schema_revision: str | None
    tables: dict[str, int]
    audit: AuditHead
    format: str = FORMAT
    extra: dict = field(default_factory=dict)

    def body(self) -> dict:
        body = asdict(self)
        body.pop("extra")
        return body

    def to_json(self) -> str:
        body = self.body()
        body["manifest_sha256"] = _digest(body)
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @property
    def taken(self) -> dt.datetime | None:
        try:
            return dt.datetime.fromisoformat(self.taken_at)
        except ValueError:
            return None


def _digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def paths(path: str | Path) -> tuple[Path, Path]:
    """(database copy, manifest) of the backup at ``path`` (a file, or a directory)."""
    copy = Path(path)
    if copy.is_dir() or str(path).endswith(("/", "\\")):
        copy = copy / DIRECTORY_COPY
    return copy, copy.with_name(copy.name + MANIFEST_SUFFIX)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read(manifest_path: Path) -> Manifest:
    """The manifest, or ``BackupUnusable`` saying what is wrong with it (missing, not
    JSON, altered: its own checksum no longer matches)."""
    try:
        body = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise BackupUnusable(f"no manifest at {manifest_path}: not a backup made by `backup`") from err
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise BackupUnusable(f"the manifest {manifest_path} cannot be read: {err}") from err
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise BackupUnusable(f"the manifest {manifest_path} is not a {FORMAT} manifest")
    recorded = body.pop("manifest_sha256", None)
    if recorded != _digest(body):
        raise BackupUnusable(f"the manifest {manifest_path} was altered: its checksum does not match its content")
    try:
        audit = AuditHead(**body.pop("audit"))
        return Manifest(audit=audit, **body)
    except (TypeError, KeyError) as err:
        raise BackupUnusable(f"the manifest {manifest_path} lacks a field: {err}") from err


def snapshot(conn: Connection) -> Snapshot:
    """Row counts of every table of ``conn``'s database, its audit head and schema revision
    (read in ``conn``'s transaction: give it one that sees a single moment)."""
    names = sorted(inspect(conn).get_table_names())
    tables = {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one() for name in names}
    revision = None
    if "alembic_version" in tables:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    head_id, head_hash = None, ""
    if AuditChainHead.__tablename__ in tables:
        row = conn.execute(select(AuditChainHead.head_id, AuditChainHead.head_hash)).first()
        if row is not None:
            head_id, head_hash = row.head_id, row.head_hash or ""
    audit_rows = tables.get(AuditEvent.__tablename__, 0)
    return Snapshot(tables, AuditHead(audit_rows, head_id, head_hash), revision)


def differences(manifest: Manifest, restored: Snapshot) -> list[str]:
    """What the restored copy holds that the manifest does not say, in words (empty: it matches)."""
    found = []
    missing = sorted(set(manifest.tables) - set(restored.tables))
    extra = sorted(set(restored.tables) - set(manifest.tables))
    if missing:
        found.append(f"tables missing from the restored copy: {', '.join(missing)}")
    if extra:
        found.append(f"tables in the restored copy the manifest does not list: {', '.join(extra)}")
    for name in sorted(set(manifest.tables) & set(restored.tables)):
        if manifest.tables[name] != restored.tables[name]:
            found.append(f"table {name}: {restored.tables[name]} rows restored, the manifest says "
                         f"{manifest.tables[name]}")
    if restored.schema_revision != manifest.schema_revision:
        found.append(f"schema revision {restored.schema_revision!r} restored, the manifest says "
                     f"{manifest.schema_revision!r}")
    if (restored.audit.head_id, restored.audit.head_hash) != (manifest.audit.head_id, manifest.audit.head_hash):
        found.append(f"audit chain head: row {restored.audit.head_id} restored, the manifest says row "
                     f"{manifest.audit.head_id} ({manifest.audit.head_hash[:12] or 'empty'})")
    return found
