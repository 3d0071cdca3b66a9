"""No plaintext password from any statement reaches the server log or pg_stat_statements,
while DDL and role changes are still audited (pgaudit, passwords redacted)."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable

import psycopg
import pytest
from support.docker import Container, DeadlinePassed

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


def wait_for_log(db: Container, needle: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = db.logs()
        if needle in logs:
            return logs
        time.sleep(0.2)
    raise DeadlinePassed(f"{needle!r} not in the db log within {timeout}s")


def put_back_password(connect: Connect, settings: Settings, role: str) -> None:
    """The login guard restores a password a role gave itself at the next login of any role;
    wait for that, so later tests log in with the stack's passwords."""
    connect("migrator").execute("SELECT 1")
    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg.connect(settings.conninfo(role, connect_timeout=5)).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


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
    logs = wait_for_log(db, marker)
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
    logs = wait_for_log(db, "ALTER ROLE ci_readonly PASSWORD <REDACTED>")
    assert secret not in logs
    audited = [line for line in logs.splitlines() if "AUDIT: SESSION" in line and "ROLE" in line]
    assert any("user=ci_readonly" in line for line in audited)


def test_ddl_is_still_audited(connect: Connect, db: Container) -> None:
    """What log_statement = 'ddl' used to log, pgaudit logs now."""
    name = f"audit_probe_{uuid.uuid4().hex[:8]}"
    conn = connect("migrator", autocommit=False)
    conn.execute(f"CREATE TABLE public.{name} (v int)")  # type: ignore[arg-type]
    conn.rollback()
    logs = wait_for_log(db, f"CREATE TABLE public.{name}")
    line = next(x for x in logs.splitlines() if f"CREATE TABLE public.{name}" in x)
    assert "AUDIT: SESSION" in line and "DDL" in line
