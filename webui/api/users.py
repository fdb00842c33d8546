"""People and teams, for administrators (403 for anyone else): list, add and change
accounts (roles, supervisor, team, availability, active), list and add teams.

``PATCH /api/users/<username>`` with ``"active": false`` ends every session and token of
that person and hands their claimed tasks back; ``"available": false`` (on leave) hands the
tasks back too. The rules are engine.people.administration's.
"""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.models.people import ROLES
from engine.people import administration
from engine.people.languages import LANGUAGES
from webui.api.bounds import page_limit, page_offset
from webui.auth import current_user_id
from webui.extensions import uow
from webui.idempotency import idempotent

blp = Blueprint("users", __name__, url_prefix="/api/users", description="People: accounts, roles, supervision (admins)")
teams_blp = Blueprint("teams", __name__, url_prefix="/api/teams", description="Teams of staff (admins)")
USERNAME = "string(maxlength=80)"  # users.username
MAX_ROLES = 20  # more than there are roles; repeats are taken once


def _role_list(**kwargs) -> fields.List:
    return fields.List(fields.String(validate=validate.OneOf(ROLES)), validate=validate.Length(max=MAX_ROLES),
                       metadata={"description": "role names: " + ", ".join(ROLES)}, **kwargs)


def _language(**kwargs) -> fields.String:
    """A language offered (422 for any other); null: no choice, the browser's language."""
    return fields.String(allow_none=True, validate=validate.OneOf(LANGUAGES), **kwargs,
                         metadata={"description": "one of: " + ", ".join(LANGUAGES) + "; null: the browser's"})


def _password(**kwargs) -> fields.String:
    return fields.String(load_only=True, validate=validate.Length(min=1, max=1024),
                         metadata={"description": "at least 8 characters"}, **kwargs)


class UserQuerySchema(Schema):
    active = fields.Boolean(load_default=None, allow_none=True,
                            metadata={"description": "true: only active accounts, false: only deactivated ones"})
    limit = page_limit(200, 500)
    offset = page_offset()


class UserSchema(Schema):
    username = fields.String()
    display_name = fields.String()
    email = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    supervisor = fields.String(allow_none=True, metadata={"description": "username of the direct supervisor"})
    team = fields.String(allow_none=True)
    available = fields.Boolean(metadata={"description": "false while on leave: their work goes to others"})
    active = fields.Boolean(metadata={"description": "false: deactivated, cannot sign in"})
    locale = fields.String(allow_none=True, metadata={"description": "the language chosen for pages and e-mails: "
                                                                     + ", ".join(LANGUAGES) + "; null: the browser's"})
    single_sign_on = fields.Boolean(dump_only=True, metadata={
        "description": "true: linked to an account at the single sign-on (OpenID Connect) provider"})


class UserListSchema(Schema):
    users = fields.List(fields.Nested(UserSchema))
    total = fields.Integer()


class NewUserSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    display_name = fields.String(load_default="", validate=validate.Length(max=200))
    email = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=254))
    roles = _role_list(required=True)
    supervisor = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=120))
    password = _password(required=True)
    locale = _language(load_default=None)


class UserChangeSchema(Schema):
    """Only the fields sent change."""
    display_name = fields.String(validate=validate.Length(max=200))
    email = fields.String(allow_none=True, validate=validate.Length(max=254))
    roles = _role_list()
    supervisor = fields.String(allow_none=True, validate=validate.Length(max=80),
                               metadata={"description": "a username; null: no supervisor"})
    team = fields.String(allow_none=True, validate=validate.Length(max=120),
                         metadata={"description": "a team's name; null: no team"})
    available = fields.Boolean()
    active = fields.Boolean(metadata={"description": "false ends every session and token of the user"})
    password = _password()
    locale = _language()
    single_sign_on = fields.Boolean(metadata={
        "description": "false unlinks the account from its identity at the single sign-on provider: every session "
                       "and token of it ends, and that identity is never linked to it by e-mail again; true is "
                       "refused (422): an account is linked by signing in through the provider"})


class UserChangedSchema(UserSchema):
    sessions_ended = fields.Integer(metadata={"description": "sessions and tokens this change ended"})
    tasks_handed_back = fields.Integer(metadata={"description": "claimed tasks given back to their roles"})


class TeamSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    members = fields.Integer(dump_only=True, metadata={"description": "active people on the team"})


class TeamListSchema(Schema):
    teams = fields.List(fields.Nested(TeamSchema))


@blp.get("")
@blp.arguments(UserQuerySchema, location="query")
@blp.response(200, UserListSchema)
def list_users(query):
    """Every account, by username (`?active=true` for the active ones only)."""
    user_id = current_user_id()
    with uow() as work:
        people, total = administration.list_people(work, user_id, **query)
    return {"users": people, "total": total}


@blp.post("")
@idempotent("add_user")
@blp.arguments(NewUserSchema)
@blp.response(201, UserSchema)
def add_user(body):
    """Add an account (422 naming each field that cannot be used, e.g. a taken username or a
    password shorter than 8 characters)."""
    user_id = current_user_id()
    with uow() as work:
        return administration.add_person(work, user_id, body.pop("username"), body.pop("password"),
                                         body.pop("roles"), **body)


@blp.get(f"/<{USERNAME}:username>")
@blp.response(200, UserSchema)
def get_user(username):
    """One account, active or not."""
    user_id = current_user_id()
    with uow() as work:
        return administration.get_person(work, user_id, username)


@blp.patch(f"/<{USERNAME}:username>")
@idempotent("change_user")
@blp.arguments(UserChangeSchema)
@blp.response(200, UserChangedSchema)
def change_user(body, username):
    """Change roles, supervisor, team, availability, details or password, (de)activate, or
    unlink from single sign-on — all or nothing. An admin cannot take the admin role from themselves or deactivate
    themselves, and the last active admin stays one."""
    user_id = current_user_id()
    with uow() as work:
        outcome = administration.change_person(work, user_id, username, administration.PersonChanges(**body))
    return {**vars(outcome.person), "sessions_ended": outcome.sessions_ended,
            "tasks_handed_back": outcome.tasks_handed_back}


@teams_blp.get("")
@teams_blp.response(200, TeamListSchema)
def list_teams():
    """Every team with how many active people are on it."""
    user_id = current_user_id()
    with uow() as work:
        teams = administration.list_teams(work, user_id)
    return {"teams": [{"name": name, "members": members} for name, members in teams]}


@teams_blp.post("")
@idempotent("add_team")
@teams_blp.arguments(TeamSchema)
@teams_blp.response(201, TeamSchema)
def add_team(body):
    """Add a team (422 if the name is taken)."""
    user_id = current_user_id()
    with uow() as work:
        return {"name": administration.add_team(work, user_id, body["name"]), "members": 0}
