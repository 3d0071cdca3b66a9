"""What a holder of one login role's password can leave behind or reach: role defaults,
passwords, large objects, advisory locks, temp files, the NOTIFY queue, other databases,
BYPASSRLS roles, statistics. Each test performs the attack and shows it does not hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg import errors
from support.docker import Container, wait_until

from cidb import roles
from cidb.settings import Settings

Connect = Callable[..., psycopg.Connection]
# Every role that logs in with a password, from the manifest (a new role is covered here too).
LOGIN_ROLES = [role.name for role in roles.login_roles()]
SQITCH_LOCK_KEY = 75474063


def role_settings(db: Container, role: str) -> str:
    return db.psql(
        "SELECT coalesce(string_agg(array_to_string(setconfig, ','), ';'), '')"
        f" FROM pg_db_role_setting WHERE setrole = '{role}'::regrole"
    )


# --- Assuming other roles ---------------------------------------------------------------------


def test_no_login_role_can_assume_a_bypassrls_role_or_the_owner(db: Container) -> None:
    """Catalog: the roles each login role may SET ROLE to that bypass RLS or own the tables.
    Only ci_admin is BYPASSRLS itself; ci_migrator acts as ci_owner (the contract), which is
    subject to the forced RLS."""
    rows = db.psql(
        "SELECT l.rolname, r.rolname FROM pg_roles l CROSS JOIN pg_roles r"
        f" WHERE l.rolname = ANY (ARRAY{LOGIN_ROLES!r}) AND l.rolname <> r.rolname"
        "   AND (r.rolbypassrls OR r.rolname = 'ci_owner' OR r.rolsuper)"
        "   AND pg_has_role(l.rolname, r.oid, 'SET')"
    ).splitlines()
    assert rows == ["ci_migrator|ci_owner"]
    bypass = db.psql(
        f"SELECT rolname FROM pg_roles WHERE rolbypassrls AND rolname = ANY (ARRAY{LOGIN_ROLES!r})"
    )
    assert bypass == "ci_admin"


def test_migrator_cannot_become_the_lookup_owner(connect: Connect) -> None:
    """The attack: SET ROLE ci_auth_lookup (BYPASSRLS) and read every tenant's key hashes."""
    conn = connect("migrator")
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute("SET ROLE ci_auth_lookup")


def test_migrator_cannot_create_a_schema(connect: Connect) -> None:
    """No CREATE on the database: no schema named "postgres" ahead of the superuser's path."""
    conn = connect("migrator")
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute('CREATE SCHEMA "postgres"')


# --- Lasting changes by the app roles ---------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "setting", "value", "default"),
    [
        ("app", "default_transaction_read_only", "on", "off"),
        ("app", "statement_timeout", "1ms", "0"),
        ("readonly", "search_path", "pg_catalog", '"$user", public, extensions'),
    ],
)
def test_role_defaults_a_role_sets_for_itself_do_not_last(
    connect: Connect, db: Container, role: str, setting: str, value: str, default: str
) -> None:
    """ALTER ROLE <self> SET ... is allowed by PostgreSQL; the login guard drops it at the next
    login, and that very login's session already runs with the default."""
    name = {"app": "ci_app", "readonly": "ci_readonly"}[role]
    before = role_settings(db, name)
    attacker = connect(role)
    attacker.execute(f"ALTER ROLE {name} SET {setting} = '{value}'")
    # Seen from the attacker's own session: any new login (even this test's) repairs it.
    stored = attacker.execute(
        "SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting"
        " WHERE setrole = %s::regrole AND setdatabase = 0",
        (name,),
    ).fetchone()
    assert stored and f"{setting}={value}" in stored[0], "precondition: the default was stored"
    fresh = connect(role)
    shown = fresh.execute(f"SHOW {setting}").fetchone()[0]
    if setting != "search_path":
        assert shown == default
    else:
        assert shown != value
    wait_until(lambda: role_settings(db, name) == before, 30, lambda: f"{name}'s defaults kept")


def test_a_role_that_changes_its_own_password_gets_the_old_one_back(
    connect: Connect, settings: Settings, db: Container
) -> None:
    """ci_readonly sets itself a new password (locking out its real users); the next login of
    any role puts back the one the environment gave, so real users get in again."""
    connect("readonly").execute("ALTER ROLE ci_readonly PASSWORD 'attacker-chosen-password'")
    connect("migrator").execute("SELECT 1")

    def original_works() -> bool:
        try:
            psycopg.connect(settings.conninfo("readonly", connect_timeout=5)).close()
            return True
        except psycopg.OperationalError:
            return False

    wait_until(original_works, 30, lambda: "ci_readonly's own password still refused")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            settings.conninfo("readonly", connect_timeout=5).replace(
                settings.passwords["ci_readonly"], "attacker-chosen-password"
            )
        )


LARGE_OBJECT_CALLS = [
    "SELECT lo_from_bytea(0, '\\x00')",
    "SELECT lo_creat(-1)",
    "SELECT lo_create(0)",
]


@pytest.mark.parametrize("call", LARGE_OBJECT_CALLS)
@pytest.mark.parametrize("role", ["app", "readonly", "admin"])
def test_no_login_role_creates_large_objects(connect: Connect, role: str, call: str) -> None:
    """Large objects sit outside every table, its RLS and its limits, and outlive the session."""
    with pytest.raises(errors.InsufficientPrivilege):
        connect(role).execute(call)


@pytest.mark.parametrize(
    "call",
    [
        "SELECT pg_advisory_lock(%s)",
        "SELECT pg_try_advisory_lock(%s)",
        "SELECT pg_advisory_lock_shared(%s)",
        "SELECT pg_advisory_xact_lock(%s)",
        "SELECT pg_try_advisory_xact_lock(%s)",
    ],
)
@pytest.mark.parametrize("role", ["app", "readonly"])
def test_app_roles_cannot_hold_the_deploy_lock(connect: Connect, role: str, call: str) -> None:
    """Sqitch waits for its advisory lock key; an app role cannot take it (nor any other)."""
    with pytest.raises(errors.InsufficientPrivilege):
        connect(role).execute(call, (SQITCH_LOCK_KEY,))


def test_migrator_still_takes_the_deploy_lock(connect: Connect) -> None:
    """The deploy itself keeps its lock."""
    conn = connect("migrator")
    assert conn.execute("SELECT pg_try_advisory_lock(%s)", (SQITCH_LOCK_KEY,)).fetchone() == (True,)
    conn.execute("SELECT pg_advisory_unlock(%s)", (SQITCH_LOCK_KEY,))


def test_temp_files_of_an_app_session_are_bounded(connect: Connect) -> None:
    """A spilling query as ci_app stops at its 256MB temp_file_limit (53400), and the role
    cannot raise the limit (superuser-only parameter)."""
    conn = connect("app")
    assert conn.execute("SHOW temp_file_limit").fetchone() == ("256MB",)
    with pytest.raises(errors.ConfigurationLimitExceeded, match="temp_file_limit"):
        conn.execute("SELECT count(*) FROM generate_series(1, 20000000)")
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute("SET temp_file_limit = -1")


def test_notify_queue_is_capped_behind_a_stuck_listener(connect: Connect) -> None:
    """A listener that never reads (inside an open transaction) plus a flood of NOTIFY fills
    the queue up to its 32MB cap, then NOTIFY fails (54000) instead of filling the volume."""
    listener = connect("readonly", autocommit=False)
    listener.execute("LISTEN ci_flood")
    listener.commit()
    listener.execute("SELECT 1")  # inside a transaction now: notifications pile up
    notifier = connect("app")
    try:
        with pytest.raises(errors.ProgramLimitExceeded, match="too many notifications"):
            for _ in range(3):
                notifier.execute(
                    "SELECT count(pg_notify('ci_flood', g::text || repeat('x', 7000)))"
                    " FROM generate_series(1, 4000) AS g"
                )
    finally:
        listener.rollback()
        listener.execute("UNLISTEN *")
        listener.commit()


@pytest.mark.parametrize("database", ["postgres", "template1"])
@pytest.mark.parametrize("role", LOGIN_ROLES)
def test_login_roles_cannot_reach_the_maintenance_databases(
    settings: Settings, role: str, database: str
) -> None:
    """No TEMP tables, no sessions at all, in postgres or template1."""
    conninfo = settings.conninfo(role, connect_timeout=5).replace(
        f"dbname={settings.database}", f"dbname={database}"
    )
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(conninfo)


# --- Statistics: what stays visible, by design ------------------------------------------------


def test_column_statistics_of_tenant_tables_are_hidden_from_app_roles(
    connect: Connect, db: Container
) -> None:
    """pg_stats (most common values: emails, slugs) is empty for RLS tables under RLS; table
    sizes (pg_class.reltuples) stay visible to every role: a documented residual."""
    db.psql("ANALYZE public.users, public.tenants")
    assert int(db.psql("SELECT count(*) FROM pg_stats WHERE tablename = 'users'")) > 0
    conn = connect("app")
    hidden = conn.execute(
        "SELECT count(*) FROM pg_stats WHERE schemaname = 'public'"
        " AND tablename IN ('users', 'tenants')"
    ).fetchone()
    assert hidden == (0,)
    sizes: Any = conn.execute(
        "SELECT reltuples FROM pg_class WHERE oid = 'public.tenants'::regclass"
    ).fetchone()
    assert sizes is not None
