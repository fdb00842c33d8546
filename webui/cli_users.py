"""``python -m webui.cli user …``: the operator manages accounts from the command line (the
first administrator of a new installation comes from here). Each command calls one use case
of engine.people.administration as the operator (no signed-in user); a refusal raises the
engine's error, which ``webui.cli`` prints and turns into exit status 1.

Passwords are never arguments (they would sit in the shell history and the process list):
they are read from standard input, one line — or asked for without echo at a terminal.
"""
from __future__ import annotations

import argparse
import getpass
import sys
from typing import TextIO

from engine.errors import Invalid
from engine.infra.bootstrap import EngineContext
from engine.models.people import ROLES, Role
from engine.people import administration
from engine.people.administration import Person, PersonChanges


def add_parsers(commands) -> None:
    user = commands.add_parser("user", help="accounts: add, deactivate, set roles, supervisor or password, list")
    sub = user.add_subparsers(dest="user_command", required=True, metavar="user_command")
    add = sub.add_parser("add", help="a new account; the password is read from standard input (one line)")
    add.add_argument("username")
    _roles_option(add)
    add.add_argument("--supervisor", help="username of their supervisor (a supervisor or director)")
    add.add_argument("--name", default="", help="the name shown to others (default: the username)")
    add.add_argument("--team", help="the name of an existing team")
    add.add_argument("--email", help="where notices are e-mailed")
    sub.add_parser("deactivate", help="the account signs in no more; its claimed tasks go back").add_argument(
        "username")
    roles = sub.add_parser("set-roles", help="give the account exactly these roles")
    roles.add_argument("username")
    _roles_option(roles)
    supervisor = sub.add_parser("set-supervisor", help="set (or, without SUPERVISOR, clear) the supervisor")
    supervisor.add_argument("username")
    supervisor.add_argument("supervisor", nargs="?", default=None)
    sub.add_parser("set-password", help="a new password from standard input; every sign-in ends").add_argument(
        "username")
    sub.add_parser("list", help="every account with its roles")


def _roles_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", dest="roles", action="append", required=True, choices=ROLES, metavar="ROLE",
                        help="repeat for several: " + ", ".join(ROLES))


def read_password(stream: TextIO | None = None) -> str:
    """One line of ``stream`` (standard input) without its line ending; at a terminal, asked
    for without echo. ``Invalid`` when there is none."""
    stream = stream or sys.stdin
    if stream.isatty():
        password = getpass.getpass("Password: ")
    else:
        password = stream.readline().rstrip("\r\n")
    if not password:
        raise Invalid("no password on standard input", errors={"password": ["give it as one line on standard input"]})
    return password


def run(ctx: EngineContext, args: argparse.Namespace) -> int:
    command = args.user_command
    if command == "list":
        with ctx.uow() as work:
            people, _total = administration.list_people(work, None, limit=100_000)
        for person in people:
            say(describe(person))
        return 0
    if command == "add":
        password = read_password()
        with ctx.uow() as work:
            person = administration.add_person(work, None, args.username, password, args.roles,
                                               display_name=args.name, supervisor=args.supervisor,
                                               team=args.team, email=args.email)
        say(f"added {describe(person)}")
        return 0
    changes = {"deactivate": lambda: PersonChanges(active=False),
               "set-roles": lambda: PersonChanges(roles=args.roles),
               "set-supervisor": lambda: PersonChanges(supervisor=args.supervisor),
               "set-password": lambda: PersonChanges(password=read_password())}[command]()
    with ctx.uow() as work:
        outcome = administration.change_person(work, None, args.username, changes)
    say(f"changed {describe(outcome.person)}; {outcome.sessions_ended} sign-in(s) ended, "
        f"{outcome.tasks_handed_back} claimed task(s) handed back")
    return 0


def say(line: str) -> None:
    print(line)  # noqa: T201 - a command's output is its interface


def describe(person: Person) -> str:
    roles = ", ".join(Role.label_of(role) for role in person.roles) or "no roles"
    state = "" if person.active else ", deactivated"
    state += "" if person.available or not person.active else ", on leave"
    supervisor = f", supervised by {person.supervisor}" if person.supervisor else ""
    return f"{person.username} ({person.display_name}): {roles}{supervisor}{state}"
