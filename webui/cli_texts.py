"""``python -m webui.cli workflow-texts extract|check``: the workflows' texts for translators.

``extract`` rewrites ``workflows/translations/workflows.pot`` from the forms and diagrams
and adds every new text, untranslated, to each language's ``workflows.po`` (texts no
longer used stay as obsolete ``#~`` entries). ``check`` changes nothing: exit 1 when the
template is not current or a catalogue would be refused at deploy, listing why; either
way it says how complete each language is. Neither needs the database.
"""
from __future__ import annotations

import argparse
import sys

from babel.messages.pofile import read_po

from engine.errors import SpecInvalid
from engine.process import workflow_catalogues
from engine.settings import Settings


def add_parsers(commands) -> None:
    texts = commands.add_parser("workflow-texts", help="the workflows' texts: the template and its catalogues")
    actions = texts.add_subparsers(dest="texts_command", required=True, metavar="texts_command")
    actions.add_parser("extract", help="rewrite workflows/translations/workflows.pot and add new texts to each .po")
    actions.add_parser("check", help="exit 1 if the template is stale or a catalogue would be refused at deploy")


def run(settings: Settings, args: argparse.Namespace) -> int:
    root = settings.workflows_dir
    try:
        if args.texts_command == "extract":
            pot, catalogues = workflow_catalogues.write_template(root)
            _say(f"{pot}: {len(workflow_catalogues.extract(root))} texts")
            for path in catalogues:
                _say(f"{path}: brought up to the template")
            status = 0
        else:
            status = _check(settings)
    except (SpecInvalid, ValueError, OSError) as err:
        sys.stderr.write(f"error: {err}\n")
        return 2
    for one in workflow_catalogues.completeness(root):
        _say(f"{one.language}: {one.translated} of {one.total} texts translated ({one.percent} %)")
    return status


def _check(settings: Settings) -> int:
    root, status = settings.workflows_dir, 0
    wanted = {m.id for m in workflow_catalogues.extract(root) if m.id}
    try:
        with (root / workflow_catalogues.TEMPLATE).open("rb") as fh:
            written = {m.id for m in read_po(fh) if m.id}
    except FileNotFoundError:
        written = set()
    if wanted != written:
        sys.stderr.write(f"{workflow_catalogues.TEMPLATE} is not current ({len(wanted - written)} texts to add, "
                         f"{len(written - wanted)} to drop): run python -m webui.cli workflow-texts extract\n")
        status = 1
    for problem in workflow_catalogues.check_catalogues(root):
        sys.stderr.write(f"{problem.file}:{problem.line}: {problem.message}\n")
        status = 1
    return status


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
