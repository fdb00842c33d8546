"""Operator commands, settings from the environment:

    python -m webui.cli migrate      # bring the schema to the newest migration
    python -m webui.cli deploy       # validate and deploy workflows/ (new versions only)
    python -m webui.cli seed-demo    # create the demo users (refused in production)
"""
from __future__ import annotations

import argparse
import logging
import sys

from engine.errors import DomainError
from engine.infra import bootstrap, db
from engine.people import demo as demo_users
from engine.process import deployment as model_service
from engine.settings import Settings


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="python -m webui.cli")
    parser.add_argument("command", choices=("migrate", "deploy", "seed-demo"))
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "migrate":
        db.upgrade(db.make_engine(settings.database_url))
        return 0
    ctx = bootstrap.build(settings)
    try:
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
        print(f"error: {err.message}", file=sys.stderr)
        for field, messages in err.errors.items():
            for message in messages:
                print(f"  {field}: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
