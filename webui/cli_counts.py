"""``python -m webui.cli case-counts check|rebuild``: the supervisor dashboard's counts of
cases are kept as cases change (engine.case.case_counts); what the database's triggers cannot
see — ``TRUNCATE cases``, a restore that skipped ``case_count_deltas``, cases written with the
triggers off — leaves them wrong. ``check`` compares them with a count of the cases and looks
for the count triggers: exit 0 when they agree and the triggers are there, 1 naming each group
that differs and each trigger missing. ``rebuild`` makes them a count of the cases again and
puts back missing triggers (audited). The worker does the same once a day on its own
(``check_case_counts``)."""
from __future__ import annotations

from engine.case import case_counts, count_triggers
from engine.infra.bootstrap import EngineContext
from engine.models.case import STATUS_NAMES
from engine.people.directory import name_of, usernames


def add_parsers(commands) -> None:
    counts = commands.add_parser("case-counts", help="the dashboard's kept counts of cases")
    actions = counts.add_subparsers(dest="counts_command", required=True, metavar="counts_command")
    actions.add_parser("check", help="compare the kept counts with a count of the cases")
    actions.add_parser("rebuild", help="make the kept counts a count of the cases again")


def run(ctx: EngineContext, args) -> int:
    if args.counts_command == "rebuild":
        with ctx.uow() as uow:
            groups = case_counts.recount(uow)
        print(f"case counts rebuilt from the cases: {groups} group(s)")
        return 0
    with ctx.session_factory() as session:
        found = case_counts.differences(session)
        gone = count_triggers.missing(session)
        names = usernames(session, {i for d in found for i in d.group[:2]})
    if gone:
        print(f"count trigger(s) missing on cases, so case changes go uncounted: {', '.join(gone)} "
              "(python -m webui.cli case-counts rebuild puts them back)")
    if not found:
        if not gone:
            print("case counts agree with the cases")
        return 1 if gone else 0
    print(f"case counts differ from the cases in {len(found)} group(s) "
          "(python -m webui.cli case-counts rebuild makes them agree):")
    for difference in found:
        supervisor, caseworker, status, risk = difference.group
        print(f"  supervisor {name_of(names, supervisor) or 'none'}, "
              f"caseworker {name_of(names, caseworker) or 'none'}, {STATUS_NAMES.get(status, status)}, "
              f"risk {risk or 'not rated'}: "
              f"kept {difference.kept}, cases {difference.cases}")
    return 1
