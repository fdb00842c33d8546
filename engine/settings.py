"""Deployment settings, read from the environment only when asked (never at import)."""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """``DATABASE_URL`` unset means the embedded default: a SQLite file under
    ``instance/`` and an in-process task worker on dramatiq's stub broker."""
    database_url: str
    redis_url: str | None = None
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    demo: bool = True
    workflows_dir: Path = PROJECT_ROOT / "workflows"
    instance_dir: Path = PROJECT_ROOT / "instance"
    in_process_worker: bool = True
    deploy_on_start: bool = True
    migrate_on_start: bool = True
    script_time_limit: float = 2.0
    max_duration_days: float = 3653.0  # the longest duration or timer the engine interprets (ten years)
    smtp_url: str | None = None
    mail_from: str = "casework@localhost"
    testing: bool = False
    production: bool = False  # APP_ENV=production: secure cookies, no demo users, no start-up side effects

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        instance_dir = Path(env.get("INSTANCE_DIR", PROJECT_ROOT / "instance"))
        database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'casework.db'}"
        redis_url = env.get("REDIS_URL") or None
        production = env.get("APP_ENV", "").lower() == "production"
        secret = env.get("SECRET_KEY")
        if production and not secret:
            raise RuntimeError("SECRET_KEY must be set when APP_ENV=production")
        settings = cls(
            database_url=database_url,
            redis_url=redis_url,
            secret_key=secret or _instance_secret(instance_dir),
            demo=_flag(env.get("DEMO"), default=not production),
            workflows_dir=Path(env.get("WORKFLOWS_DIR", PROJECT_ROOT / "workflows")),
            instance_dir=instance_dir,
            in_process_worker=_flag(env.get("IN_PROCESS_WORKER"), default=redis_url is None),
            deploy_on_start=_flag(env.get("DEPLOY_ON_START"), default=True),
            migrate_on_start=_flag(env.get("MIGRATE_ON_START"), default=True),
            script_time_limit=float(env.get("SCRIPT_TIME_LIMIT", "2.0")),
            max_duration_days=float(env.get("MAX_DURATION_DAYS", "3653")),
            smtp_url=env.get("SMTP_URL") or None,
            mail_from=env.get("MAIL_FROM", "casework@localhost"),
            production=production,
        )
        return replace(settings, **overrides)


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _instance_secret(instance_dir: Path) -> str:
    """A secret kept in the instance folder so sessions survive a restart of `make run`."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
