"""No plaintext password from any statement reaches the server log or pg_stat_statements,
while DDL and role changes are still audited (pgaudit, passwords redacted)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable

import psycopg
import pytest
from support.docker import Container, wait_until

from cidb.settings import Settings

Connect = Callable[..., psycopg.Connection]

# (role, statement template): {secret} is a fresh plaintext password per case.
ATTEMPTS = [
    pytest.param("app", "ALTER ROLE ci_app PASSWORD '{secret}'", id="own-password"),
    pytest.param("app", "ALTER ROLE ci_admin PASSWORD '{secret}'", id="other-role-denied"),
    pytest.param("readonly", "ALTER USER ci_readonly WITH PASSWORD '{secret}'", id="alter-user"),
    pytest.param("app", "CREATE ROLE intruder LOGIN PASSWORD '{secret}'", id="create-denied"),
    pytest.param("admin", "ALTER ROLE no_such_role PASSWORD '{secret}'", id="unknown-role"),
    pytest.param(
        "migrator", "ALTER ROLE ci_migrator PASSWORD '{secret}' VALID UNTIL 'x'", id="bad-date"
    ),
]


def put_back_password(connect: Connect, settings: Settings, role: str) -> None:
    """The login guard restores a password a role gave itself at the next login of any role;
    wait for that, so later tests log in with the stack's passwords."""
    connect("migrator").execute("SELECT 1")

    def logs_in() -> bool:
        try:
            psycopg.connect(settings.conninfo(role, connect_timeout=5)).close()
        except psycopg.OperationalError:
            return False
        return True

    wait_until(logs_in, 30, lambda: f"{role} still cannot log in with the stack's password")


@pytest.mark.parametrize(("role", "template"), ATTEMPTS)
def test_role_statement_passwords_never_reach_the_log(
    connect: Connect, db: Container, settings: Settings, role: str, template: str
) -> None:
    """Each statement is run (successful or refused); afterwards a marker query is logged by
    the same session, so the log is known to be written past it, and the secret is absent."""
    secret = f"plain-{uuid.uuid4().hex}"
    marker = f"marker-{uuid.uuid4().hex}"
    conn = connect(role)
    with contextlib.suppress(psycopg.Error):
        conn.execute(template.format(secret=secret))  # type: ignore[arg-type]
    # An error that names the marker is logged even with statements off: once it shows, the
    # session's earlier lines have been written too.
    with pytest.raises(psycopg.Error):
        conn.execute("SELECT %s::int", (marker,))
    db.wait_for_log(marker, 30)
    logs = db.logs()
    assert secret not in logs
    put_back_password(connect, settings, role)
    statements = db.psql(f"SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%{secret}%'")
    assert statements == "0"


def test_role_changes_are_audited_with_the_password_redacted(
    connect: Connect, db: Container, settings: Settings
) -> None:
    """The audit trail keeps who changed which role; the password reads <REDACTED>."""
    secret = f"plain-{uuid.uuid4().hex}"
    connect("readonly").execute(f"ALTER ROLE ci_readonly PASSWORD '{secret}'")  # type: ignore[arg-type]
    put_back_password(connect, settings, "readonly")
    db.wait_for_log("ALTER ROLE ci_readonly PASSWORD <REDACTED>", 30)
    logs = db.logs()
    assert secret not in logs
    audited = [line for line in logs.splitlines() if "AUDIT: SESSION" in line and "ROLE" in line]
    assert any("user=ci_readonly" in line for line in audited)


def test_ddl_is_still_audited(connect: Connect, db: Container) -> None:
    """What log_statement = 'ddl' used to log, pgaudit logs now."""
    name = f"audit_probe_{uuid.uuid4().hex[:8]}"
    conn = connect("migrator", autocommit=False)
    conn.execute(f"CREATE TABLE public.{name} (v int)")  # type: ignore[arg-type]
    conn.rollback()
    db.wait_for_log(f"CREATE TABLE public.{name}", 30)
    logs = db.logs()
    line = next(x for x in logs.splitlines() if f"CREATE TABLE public.{name}" in x)
    assert "AUDIT: SESSION" in line and "DDL" in line
