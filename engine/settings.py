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
    # embedded only: a production process never migrates or deploys at start (engine.infra.bootstrap)
    deploy_on_start: bool = True
    migrate_on_start: bool = True
    script_time_limit: float = 2.0
    # how long a request waits for another writer's lock on the SQLite file before it is
    # answered 503 (try again) instead of hanging
    sqlite_busy_timeout_s: float = 5.0
    max_duration_days: float = 3653.0  # the longest duration or timer the engine interprets (ten years)
    # bounds on untrusted diagrams, tables, forms and data (engine.bpmn.limits says what each stops)
    step_time_limit: float = 5.0  # wall-clock seconds of one engine step
    max_engine_tasks: int = 5000  # engine tasks run by one step
    max_tasks: int = 10_000  # tasks in one instance's task tree
    max_task_depth: int = 800  # depth of that tree (SpiffWorkflow skips tasks below 1,000 silently)
    max_multi_instance: int = 200  # instances of one multi-instance element
    max_state_kb: int = 4096  # one instance's saved state
    max_flow_elements: int = 2000  # flow elements of one process, at deploy
    max_dmn_rules: int = 500  # rules of one decision table, at deploy
    max_form_depth: int = 32  # nesting of a form's JSON, at deploy
    max_form_kb: int = 256  # size of a form file, at deploy
    max_memory_mb: int = 2048  # address space of a production process (RLIMIT_AS; 0: none)
    # allocations between the garbage collector's young passes in a service process (0: Python's
    # own settings; engine.infra.garbage_collection)
    gc_young_threshold: int = 10_000
    smtp_url: str | None = None
    mail_from: str = "casework@localhost"
    testing: bool = False
    production: bool = False  # APP_ENV=production: secure cookies, no demo users, no start-up side effects
    # failed sign-ins allowed per client address and per username named (rate-limit strings,
    # counted in memory embedded, in Redis at REDIS_URL otherwise); successes never count
    login_limit_per_address: str = "30 per 15 minutes"
    login_limit_per_account: str = "10 per 15 minutes"
    session_hours: float = 12.0  # how long a bearer token or a browser sign-in lasts
    # single sign-on through an OpenID Connect provider: off unless OIDC_ISSUER is set (README,
    # "Single sign-on"; engine.people.single_sign_on says who may sign in and how roles follow groups)
    oidc_issuer: str | None = None
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    oidc_provider_name: str = "your organisation's account"
    oidc_scopes: str = "openid email profile"
    oidc_groups_claim: str = "groups"  # a dotted path reaches into objects, e.g. realm_access.roles
    oidc_role_map: str = ""  # "provider-group=role,other-group=role"
    oidc_create_users: bool = False  # a person with no account here gets one at first sign-in
    oidc_redirect_uri: str | None = None  # unset: <this site>/login/sso/callback as the request reached it

    @property
    def single_sign_on(self) -> bool:
        return bool(self.oidc_issuer)

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
            deploy_on_start=_start_up_flag(env, "DEPLOY_ON_START", production),
            migrate_on_start=_start_up_flag(env, "MIGRATE_ON_START", production),
            script_time_limit=float(env.get("SCRIPT_TIME_LIMIT", "2.0")),
            sqlite_busy_timeout_s=float(env.get("SQLITE_BUSY_TIMEOUT", "5")),
            max_duration_days=float(env.get("MAX_DURATION_DAYS", "3653")),
            step_time_limit=float(env.get("STEP_TIME_LIMIT", "5")),
            max_engine_tasks=int(env.get("MAX_ENGINE_TASKS", "5000")),
            max_tasks=int(env.get("MAX_TASKS", "10000")),
            max_task_depth=int(env.get("MAX_TASK_DEPTH", "800")),
            max_multi_instance=int(env.get("MAX_MULTI_INSTANCE", "200")),
            max_state_kb=int(env.get("MAX_STATE_KB", "4096")),
            max_flow_elements=int(env.get("MAX_FLOW_ELEMENTS", "2000")),
            max_dmn_rules=int(env.get("MAX_DMN_RULES", "500")),
            max_form_depth=int(env.get("MAX_FORM_DEPTH", "32")),
            max_form_kb=int(env.get("MAX_FORM_KB", "256")),
            max_memory_mb=int(env.get("MAX_MEMORY_MB", "2048")),
            gc_young_threshold=int(env.get("GC_YOUNG_THRESHOLD", "10000")),
            smtp_url=env.get("SMTP_URL") or None,
            mail_from=env.get("MAIL_FROM", "casework@localhost"),
            production=production,
            login_limit_per_address=env.get("LOGIN_LIMIT_PER_ADDRESS", "30 per 15 minutes"),
            login_limit_per_account=env.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes"),
            session_hours=float(env.get("SESSION_HOURS", "12")),
            oidc_issuer=env.get("OIDC_ISSUER", "").strip() or None,
            oidc_client_id=env.get("OIDC_CLIENT_ID", "").strip(),
            oidc_client_secret=env.get("OIDC_CLIENT_SECRET", ""),
            oidc_provider_name=env.get("OIDC_PROVIDER_NAME", "").strip() or "your organisation's account",
            oidc_scopes=env.get("OIDC_SCOPES", "").strip() or "openid email profile",
            oidc_groups_claim=env.get("OIDC_GROUPS_CLAIM", "").strip() or "groups",
            oidc_role_map=env.get("OIDC_ROLE_MAP", ""),
            oidc_create_users=_flag(env.get("OIDC_CREATE_USERS"), default=False),
            oidc_redirect_uri=env.get("OIDC_REDIRECT_URI", "").strip() or None,
        )
        return replace(settings, **overrides)


def _start_up_flag(env: Mapping[str, str], name: str, production: bool) -> bool:
    """MIGRATE_ON_START / DEPLOY_ON_START: on by default embedded; in production always off
    (`python -m webui.cli migrate` and `deploy` are the operator's explicit steps, run once,
    so that several web processes never race each other), and refused when asked for."""
    if not production:
        return _flag(env.get(name), default=True)
    if _flag(env.get(name), default=False):
        raise RuntimeError(f"{name} cannot be on when APP_ENV=production: run `python -m webui.cli migrate` "
                           f"and `python -m webui.cli deploy` once instead (the web app and workers never do it)")
    return False


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
