"""Operator commands, settings from the environment:

    python -m webui.cli migrate      # bring the schema to the newest migration
    python -m webui.cli deploy       # validate and deploy workflows/ (new versions only)
    python -m webui.cli seed-demo    # create the demo users (refused in production)
    python -m webui.cli audit verify # check the audit hash chain: exit 0 intact, 1 naming the first broken row
    python -m webui.cli case-counts check    # the dashboard's kept counts of cases against the cases: 0 agree, 1 not
    python -m webui.cli case-counts rebuild  # make them a count of the cases again (after TRUNCATE, a partial restore)
    python -m webui.cli user add USERNAME --role ROLE [--role ROLE ...] [--supervisor USERNAME] [--name "Name"]
                                     # a new account; the password is read from standard input (one line)
    python -m webui.cli user deactivate USERNAME     # sign-ins end at once, claimed tasks go back to their roles
    python -m webui.cli user set-roles USERNAME --role ROLE [--role ROLE ...]
    python -m webui.cli user set-supervisor USERNAME [SUPERVISOR]   # no SUPERVISOR: nobody
    python -m webui.cli user set-password USERNAME   # the new password from standard input; every sign-in ends
    python -m webui.cli user list
    python -m webui.cli backup PATH  # the whole database + a manifest (row counts, audit head, time, checksums)
    python -m webui.cli restore PATH --verify        # restore into a scratch database, check it: 0 matches, 1 not
    python -m webui.cli upgrade-state [--dry-run]    # bring stored instance states and specs to this engine's format
    python -m webui.cli workflow-texts extract       # workflows/translations: the .pot, new texts into each .po
    python -m webui.cli workflow-texts check         # 1 when the template is stale or a catalogue would be refused

Exit status: 0 done, 1 refused (the message says why), 2 the command or the database is not usable.
"""
from __future__ import annotations

import argparse
import logging
import sys

from sqlalchemy.exc import SQLAlchemyError

from engine.errors import DomainError
from engine.infra import audit_chain, bootstrap, db
from engine.people import demo as demo_users
from engine.process import deployment as model_service
from engine.settings import Settings
from webui import cli_backup as backup_commands
from webui import cli_counts as count_commands
from webui import cli_state as state_commands
from webui import cli_texts as text_commands
from webui import cli_users as user_commands


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m webui.cli")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("migrate", help="bring the schema to the newest migration")
    commands.add_parser("deploy", help="validate and deploy workflows/ (new versions only)")
    commands.add_parser("seed-demo", help="create the demo users (refused in production)")
    audit = commands.add_parser("audit", help="the audit trail")
    audit.add_subparsers(dest="audit_command", required=True, metavar="audit_command").add_parser(
        "verify", help="check the hash chain of the audit trail")
    user_commands.add_parsers(commands)
    backup_commands.add_parsers(commands)
    count_commands.add_parsers(commands)
    state_commands.add_parsers(commands)
    text_commands.add_parsers(commands)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "migrate":
        db.upgrade(db.make_engine(settings.database_url))
        return 0
    if args.command == "audit":
        return verify_audit_chain(settings)
    if args.command in ("backup", "restore"):
        return backup_commands.run(settings, args)
    if args.command == "workflow-texts":
        return text_commands.run(settings, args)
    try:
        ctx = bootstrap.build(settings)
    except bootstrap.SchemaNotCurrent as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        if args.command == "user":
            return user_commands.run(ctx, args)
        if args.command == "upgrade-state":
            return state_commands.run(ctx, args)
        if args.command == "case-counts":
            return count_commands.run(ctx, args)
        with ctx.uow() as uow:
            if args.command == "deploy":
                for r in model_service.deploy_workflows(uow, settings.workflows_dir):
                    print(f"{r.process_id} v{r.version} {'deployed' if r.created else 'unchanged'}")
            else:
                if not settings.demo:
                    print("demo users are never created in production (DEMO is off)", file=sys.stderr)
                    return 2
                print(f"{demo_users.create_demo_users(uow)} demo users created")
    except DomainError as err:
        print_refusal(err)
        return 1
    finally:
        ctx.engine.dispose()
    return 0


def print_refusal(err: DomainError) -> None:
    print(f"error: {err.message}", file=sys.stderr)
    for field, messages in err.errors.items():
        for message in messages:
            print(f"  {field}: {message}", file=sys.stderr)


def verify_audit_chain(settings: Settings) -> int:
    """``audit verify``: 0 when every audit row is linked to the one before and the head
    points at the last; 1 naming the first broken row; 2 when the database is out of reach."""
    engine = db.make_engine(settings.database_url)
    try:
        with db.make_session_factory(engine)() as session:
            report = audit_chain.verify(session)
    except SQLAlchemyError as err:
        print(f"error: cannot read the audit trail: {err}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    if report.broken is not None:
        print(f"audit chain BROKEN at {report.broken.describe()} ({report.rows} rows read)", file=sys.stderr)
        return 1
    print(f"audit chain intact: {report.rows} rows, head at row {report.head_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
