"""``python -m webui.cli user …`` (CONTRACT, operator commands): the operator adds the first
administrator and manages accounts from the command line; the password comes on standard
input, one line. Exit 0 on success, non-zero with a message otherwise."""
from __future__ import annotations

import io

import pytest

from tests.conftest import WORKFLOWS
from webui import cli


@pytest.fixture
def operator(monkeypatch, database_url, tmp_path, capsys):
    """Run ``python -m webui.cli ARGS`` in-process on the test database, with ``stdin`` as its
    standard input; returns (exit status, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("WORKFLOWS_DIR", str(WORKFLOWS))
    monkeypatch.setenv("MIGRATE_ON_START", "0")  # the database_url fixture migrated it
    monkeypatch.setenv("DEMO", "0")
    monkeypatch.delenv("APP_ENV", raising=False)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = cli.main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def sign_in(client, username, password="demo") -> int:
    return client.post("/api/auth/token", json={"username": username, "password": password}).status_code


def test_the_first_admin_comes_from_the_command_line_with_the_password_on_stdin(operator, client):
    code, out, _ = operator("user", "add", "chief", "--role", "admin", "--name", "Chief Administrator",
                            stdin="correct horse battery\n")
    assert code == 0 and "chief (Chief Administrator): Administrator" in out
    assert sign_in(client, "chief", "correct horse battery") == 200
    code, out, _ = operator("user", "add", "fieldlead", "--role", "supervisor", "--role", "caseworker",
                            stdin="another long one\n")
    assert code == 0
    code, out, _ = operator("user", "add", "newcomer", "--role", "caseworker", "--supervisor", "fieldlead",
                            stdin="and a third one\n")
    assert code == 0 and "supervised by fieldlead" in out
    code, out, _ = operator("user", "list")
    assert code == 0 and "newcomer (newcomer): Caseworker, supervised by fieldlead" in out.splitlines()


def test_a_refused_user_add_says_why_and_exits_non_zero(operator, client):
    refusals = [(("user", "add", "short", "--role", "caseworker"), "tiny\n", "at least 8 characters"),
                (("user", "add", "silent", "--role", "caseworker"), "", "no password on standard input"),
                (("user", "add", "caseworker1", "--role", "caseworker"), "long enough!\n", "already taken"),
                (("user", "add", "orphan", "--role", "caseworker", "--supervisor", "nobody"), "long enough!\n",
                 "no active user 'nobody'")]
    for args, stdin, reason in refusals:
        code, _, err = operator(*args, stdin=stdin)
        assert code == 1 and reason in err, (args, err)
    with pytest.raises(SystemExit) as usage:
        operator("user", "add", "wizard", "--role", "wizard", stdin="long enough!\n")
    assert usage.value.code == 2
    assert sign_in(client, "short", "tiny") == 401 and sign_in(client, "orphan", "long enough!") == 401


def test_deactivate_set_roles_supervisor_and_password_from_the_command_line(operator, client, token_for):
    old_token = token_for("caseworker1")
    code, out, _ = operator("user", "deactivate", "caseworker1")
    assert code == 0 and "1 sign-in(s) ended" in out
    assert client.get("/api/tasks?scope=mine", headers=old_token).status_code == 401
    assert sign_in(client, "caseworker1") == 401

    assert operator("user", "set-roles", "caseworker2", "--role", "caseworker", "--role", "crisis_team")[0] == 0
    assert operator("user", "set-supervisor", "caseworker2", "director1")[0] == 0
    code, out, _ = operator("user", "list")
    assert "caseworker2 (Caseworker Two): Caseworker, Crisis response team, supervised by director1" in out
    assert operator("user", "set-supervisor", "caseworker2")[0] == 0
    assert "caseworker2 (Caseworker Two): Caseworker, Crisis response team\n" in operator("user", "list")[1]

    assert operator("user", "set-password", "caseworker2", stdin="a fresh passphrase\n")[0] == 0
    assert sign_in(client, "caseworker2") == 401 and sign_in(client, "caseworker2", "a fresh passphrase") == 200
    code, _, err = operator("user", "deactivate", "nobody")
    assert code == 1 and "nobody has the username" in err


def test_the_operator_cannot_leave_the_service_without_an_admin(operator, client):
    for args in (("user", "deactivate", "admin"), ("user", "set-roles", "admin", "--role", "caseworker")):
        code, _, err = operator(*args)
        assert code == 1 and "at least one active administrator" in err
    assert sign_in(client, "admin") == 200
    assert operator("user", "add", "admin2", "--role", "admin", stdin="second admin here\n")[0] == 0
    assert operator("user", "deactivate", "admin")[0] == 0  # another admin remains
