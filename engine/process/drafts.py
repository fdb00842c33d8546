"""Process owners' drafts: each owner's edits of diagrams, decision tables, forms and path
tests, kept until they are deployed or discarded — so a change is tried (validated as it is
edited, path-tested) before any case runs on it.

A draft is one file under its deployed name (``case_management.bpmn``, ``risk_timeframes.dmn``,
``case_screening.json``) or a path test under ``tests/<name>.json``. Drafts belong to their
owner alone: nobody else sees or deploys them. Deploying takes the owner's model drafts (not
the path tests) through the same checks and versioning as an upload
(``engine.process.deployment.deploy_files``) and discards the drafts it deployed, in one
transaction: a refused deploy changes nothing and keeps every draft.

``save_draft``, ``discard_draft`` and ``deploy_drafts`` are use cases and commit; the rest
read.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select

from engine import clock
from engine.bpmn import operations
from engine.errors import Conflict, Forbidden, Invalid, NotFound
from engine.models.people import Role
from engine.models.process import ProcessDraft
from engine.people.directory import get_user
from engine.process import deployment
from engine.process.scenarios import scenario_files

log = logging.getLogger(__name__)

SCENARIO_FOLDER = "tests/"
DRAFT_NAME = re.compile(r"^(?:tests/)?[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\.(?:bpmn|dmn|json)$")
MAX_DRAFT_BYTES = 240 * 1024  # the JSON body that carries it is at most 256 KiB (webui.json_limits)
MAX_DRAFT_ELEMENTS = 20_000  # XML elements of a diagram or table draft (a deploy allows 2,000 flow elements)
MAX_DRAFTS = 100  # per owner
BASE_HASH = re.compile(r"^[0-9a-f]{64}$")
_DECISION_ID = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?decision\b[^>]*?\bid=\"([^\"]+)\"")
_NEW_FILES = {
    "bpmn": "",  # the editor starts a new diagram from its own empty process
    "dmn": "",
    "form": json.dumps({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "New form",
                        "type": "object", "properties": {}, "required": [], "additionalProperties": False},
                       indent=2) + "\n",
    "scenario": "[]\n",
}


@dataclass(frozen=True)
class DraftSummary:
    filename: str
    kind: str  # bpmn | dmn | form | scenario
    updated_at: dt.datetime
    size: int


@dataclass(frozen=True)
class EditableFile:
    """What the editor opens: the owner's draft of a file, else its deployed content, else
    a new file."""
    filename: str
    kind: str
    content: str
    source: str  # draft | deployed | new
    updated_at: dt.datetime | None
    base_hash: str | None = None  # the deployed file it starts from (content_hash), None: a new file


@dataclass(frozen=True)
class EditorChoices:
    """What the properties panel offers to choose from."""
    forms: list[str]
    decisions: list[str]
    operations: list[str]
    roles: list[dict]  # {"value", "label"}


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def kind_of(filename: str) -> str:
    if filename.startswith(SCENARIO_FOLDER):
        return "scenario"
    return {"bpmn": "bpmn", "dmn": "dmn", "json": "form"}[filename.rsplit(".", 1)[-1]]


def check_filename(filename: str) -> str:
    """The draft's name, or ``Invalid`` saying what a name may be."""
    if not DRAFT_NAME.match(filename or "") or ".." in filename or (
            filename.startswith(SCENARIO_FOLDER) and not filename.endswith(".json")):
        raise Invalid(f"{filename[:130]!r} is no draft name: a .bpmn, .dmn or .json file name (letters, digits, "
                      "_ . -), or tests/<name>.json for a path test", errors={"filename": ["not a draft name"]})
    return filename


def _owner(session, user_id: int):
    user = get_user(session, user_id)
    if not user.has_role(*deployment.DEPLOY_ROLES):
        raise Forbidden("only process owners and admins keep drafts")
    return user


def _draft(session, owner_id: int, filename: str) -> ProcessDraft | None:
    return session.scalar(select(ProcessDraft).where(ProcessDraft.owner_id == owner_id,
                                                     ProcessDraft.filename == filename))


def _summary(draft: ProcessDraft) -> DraftSummary:
    return DraftSummary(draft.filename, kind_of(draft.filename), draft.updated_at, len(draft.content.encode()))


# -- reading ---------------------------------------------------------------------------------
def list_drafts(uow, user_id: int) -> list[DraftSummary]:
    """The owner's drafts, by name."""
    owner = _owner(uow.session, user_id)
    return [_summary(d) for d in uow.session.scalars(
        select(ProcessDraft).where(ProcessDraft.owner_id == owner.id).order_by(ProcessDraft.filename))]


def read_draft(uow, user_id: int, filename: str) -> ProcessDraft:
    owner = _owner(uow.session, user_id)
    draft = _draft(uow.session, owner.id, check_filename(filename))
    if draft is None:
        raise NotFound(f"you have no draft of {filename}")
    return draft


def draft_contents(uow, user_id: int) -> dict[str, str]:
    """Every draft of the owner, name -> content (the editor validates them together)."""
    owner = _owner(uow.session, user_id)
    return dict(uow.session.execute(select(ProcessDraft.filename, ProcessDraft.content)
                                    .where(ProcessDraft.owner_id == owner.id)).all())


def editable_file(uow, user_id: int, filename: str, stock_dir: Path | None = None) -> EditableFile:
    """The file the editor opens: the owner's draft, else the deployed file, else (a path
    test) the stock scenarios of ``stock_dir``, else a new file."""
    owner = _owner(uow.session, user_id)
    kind = kind_of(check_filename(filename))
    draft = _draft(uow.session, owner.id, filename)
    if draft is not None:
        return EditableFile(filename, kind, draft.content, "draft", draft.updated_at, draft.base_hash)
    if kind == "scenario":
        stock = stock_scenarios(stock_dir, filename[len(SCENARIO_FOLDER):-len(".json")]) if stock_dir else None
        return EditableFile(filename, kind, stock or _NEW_FILES[kind], "deployed" if stock else "new", None)
    deployed = deployment.deployed_files(uow.session).get(filename)
    if deployed is not None:
        return EditableFile(filename, kind, deployed, "deployed", None, content_hash(deployed))
    return EditableFile(filename, kind, _NEW_FILES[kind], "new", None)


def stock_scenarios(stock_dir: Path, process_id: str) -> str | None:
    """The shipped path tests of one process (``workflows/tests``), as one JSON list."""
    found = []
    for name, content in scenario_files(stock_dir).items():
        try:
            parsed = json.loads(content)
        except ValueError:
            log.warning("stock scenario file %s is not JSON", name)
            continue
        found += [s for s in (parsed if isinstance(parsed, list) else [parsed])
                  if isinstance(s, dict) and s.get("process") == process_id]
    return json.dumps(found, indent=2) + "\n" if found else None


def editor_choices(uow, user_id: int) -> EditorChoices:
    """Forms, decisions and operations of the deployed set plus the owner's drafts, and the
    roles lanes and start_roles name."""
    contents = draft_contents(uow, user_id)
    files = dict(deployment.deployed_files(uow.session))
    files.update({name: text for name, text in contents.items() if not name.startswith(SCENARIO_FOLDER)})
    forms = sorted(name for name in files if name.endswith(".json"))
    decisions = sorted({m for name, text in files.items() if name.endswith(".dmn") for m in _DECISION_ID.findall(text)})
    return EditorChoices(forms, decisions, sorted(operations.known_operations()),
                         [{"value": role.value, "label": role.label} for role in Role])


# -- changing --------------------------------------------------------------------------------
def _check_content(filename: str, content: str) -> None:
    if len(content.encode()) > MAX_DRAFT_BYTES:
        raise Invalid(f"a draft holds at most {MAX_DRAFT_BYTES // 1024} KiB", errors={"content": ["too large"]})
    if filename.endswith((".bpmn", ".dmn")) and content.count("<") > MAX_DRAFT_ELEMENTS:
        raise Invalid(f"a diagram or table draft holds at most {MAX_DRAFT_ELEMENTS:,} XML elements: split it into "
                      "called processes", errors={"content": ["too many elements"]})


def save_draft(uow, user_id: int, filename: str, content: str, base_hash: str | None = None) -> DraftSummary:
    """Keep the owner's edit of ``filename`` (any content: a draft may be broken; the
    editor shows why). A new draft remembers the deployed file it starts from: ``base_hash``
    (``content_hash`` of what the editor opened), else the file deployed now. Commits."""
    owner = _owner(uow.session, user_id)
    check_filename(filename)
    _check_content(filename, content)
    if base_hash is not None and not BASE_HASH.match(base_hash):
        raise Invalid("base_hash is the SHA-256 (64 hex digits) of the deployed file the draft starts from",
                      errors={"base_hash": ["not a SHA-256 hex digest"]})
    session = uow.session
    draft = _draft(session, owner.id, filename)
    if draft is None:
        count = session.scalar(select(func.count()).where(ProcessDraft.owner_id == owner.id)) or 0
        if count >= MAX_DRAFTS:
            raise Invalid(f"you have {count} drafts: deploy or discard some first", errors={"filename": ["too many"]})
        if base_hash is None and not filename.startswith(SCENARIO_FOLDER):
            deployed = deployment.deployed_files(session).get(filename)
            base_hash = content_hash(deployed) if deployed is not None else None
        draft = ProcessDraft(owner_id=owner.id, filename=filename, content=content, updated_at=clock.now(),
                             base_hash=base_hash)
        session.add(draft)
    else:
        draft.content, draft.updated_at = content, clock.now()
    session.flush()
    summary = _summary(draft)
    uow.commit()
    return summary


def discard_draft(uow, user_id: int, filename: str) -> None:
    """Throw the owner's draft of ``filename`` away (``NotFound`` when there is none). Commits."""
    draft = read_draft(uow, user_id, filename)
    uow.session.delete(draft)
    uow.commit()


def _check_not_stale(session, drafts: list[ProcessDraft]) -> None:
    """``Conflict`` naming the drafts whose file was deployed again since they were started:
    deploying them would undo that change unseen."""
    deployed = deployment.deployed_files(session)
    stale = sorted(d.filename for d in drafts
                   if (content_hash(deployed[d.filename]) if d.filename in deployed else None) != d.base_hash)
    if stale:
        raise Conflict(f"{', '.join(stale)} {'was' if len(stale) == 1 else 'were'} deployed again since you started "
                       "your draft: deploying it would undo that change. Discard your draft and edit the new version, "
                       "or deploy over it on purpose (overwrite)", errors={"filenames": stale})


def deploy_drafts(uow, user_id: int, filenames: Iterable[str] | None = None,
                  overwrite: bool = False) -> list[deployment.DeployResult]:
    """Deploy the owner's model drafts (those named, or all), over the deployed files, as an
    upload would be; the deployed drafts are discarded in the same transaction. A refused
    deploy (``SpecInvalid``, naming file, element and line) changes nothing; so does one
    over a file deployed again since its draft was started (``Conflict``), unless
    ``overwrite``. Commits."""
    owner = _owner(uow.session, user_id)
    session = uow.session
    wanted = None if filenames is None else {check_filename(name) for name in filenames}
    drafts = [d for d in session.scalars(select(ProcessDraft).where(ProcessDraft.owner_id == owner.id))
              if not d.filename.startswith(SCENARIO_FOLDER) and (wanted is None or d.filename in wanted)]
    missing = sorted((wanted or set()) - {d.filename for d in drafts})
    if missing:
        raise NotFound(f"you have no draft of {', '.join(missing)} to deploy", errors={"filenames": missing})
    if not drafts:
        raise Invalid("you have no drafts of diagrams, tables or forms to deploy", errors={"filenames": ["none"]})
    if not overwrite:
        _check_not_stale(session, drafts)
    files = {d.filename: d.content.encode() for d in drafts}
    results = deployment.deploy_files(uow, files, actor_id=owner.id, view_only=True)
    session.execute(delete(ProcessDraft).where(ProcessDraft.owner_id == owner.id,
                                               ProcessDraft.filename.in_(sorted(files))))
    uow.audit(owner.id, "drafts_deployed", "user", owner.id, files=sorted(files),
              versions=[f"{r.process_id} v{r.version}" for r in results if r.created])
    uow.commit()
    log.info("%s deployed drafts %s", owner.username, ", ".join(sorted(files)))
    return results
