"""``python -m webui.cli upgrade-state [--dry-run]``: after upgrading SpiffWorkflow, rewrite
every stored spec and instance state in this engine's formats (engine.bpmn.format_upgrade).
Exit 0 when every row is readable, 1 naming each row no converter reads (left unchanged)."""
from __future__ import annotations

import sys

from engine.bpmn import format_upgrade, state_formats
from engine.infra.bootstrap import EngineContext


def add_parsers(commands) -> None:
    upgrade = commands.add_parser("upgrade-state",
                                  help="rewrite stored instance states and specs in this engine's formats")
    upgrade.add_argument("--dry-run", action="store_true", help="say what would be converted, change nothing")


def run(ctx: EngineContext, args) -> int:
    report = format_upgrade.upgrade_all(ctx.session_factory, dry_run=args.dry_run)
    verb = "would convert" if args.dry_run else "converted"
    print(f"{verb} {report.specs_upgraded} process model spec(s) and {report.states_upgraded} instance state(s) "
          f"to {state_formats.STATE_FORMAT}; {report.states_current} already current"
          + (f", {report.moved_on} saved meanwhile by this engine" if report.moved_on else ""))
    for refusal in report.refused:
        print(f"  cannot convert {refusal}", file=sys.stderr)
    return 1 if report.refused else 0
