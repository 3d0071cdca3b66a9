"""`docker compose logs` stays readable: the healthchecks (every 2 s per service) log no
connection lines, while a real client's login is still logged by PostgreSQL and PgBouncer."""

from __future__ import annotations

import datetime as dt

import psycopg
from fixtures_stack import Stack
from support.docker import Container, wait_until

# What a login writes: PostgreSQL's log_connections lines, PgBouncer's client login line.
DB_LINES = ("connection received:", "connection authorized:")
POOLER_LINES = ("login attempt:",)


def checks_since(container: Container, since: str) -> int:
    """Healthcheck runs Docker has recorded that started after SINCE (RFC 3339)."""
    log = container.inspect()["State"].get("Health", {}).get("Log", [])
    return sum(1 for entry in log if entry["Start"] > since)


def lines_since(stack: Stack, service: str, since: str, needles: tuple[str, ...]) -> list[str]:
    logs = stack.compose("logs", "--no-color", "--since", since, service)
    return [line for line in logs.splitlines() if any(n in line for n in needles)]


def test_healthchecks_log_no_connections_but_real_logins_are_logged(stack: Stack) -> None:
    since = dt.datetime.now(dt.UTC).isoformat()
    db, pooler = stack.container("db"), stack.container("pgbouncer")
    # Three healthcheck runs of each service (observed, not slept for).
    wait_until(
        lambda: checks_since(db, since) >= 3 and checks_since(pooler, since) >= 3,
        120,
        lambda: f"healthchecks not run: {db.inspect()['State'].get('Health')}",
    )
    assert db.health() == "healthy" and pooler.health() == "healthy"
    assert lines_since(stack, "db", since, DB_LINES) == []
    assert lines_since(stack, "pgbouncer", since, POOLER_LINES) == []

    settings = stack.settings()
    with psycopg.connect(settings.conninfo("app"), application_name="log-noise-direct"):
        pass
    with psycopg.connect(settings.conninfo("app", pooled=True)):
        pass
    wait_until(
        lambda: (
            any(
                "user=ci_app" in line and "log-noise-direct" in line
                for line in lines_since(stack, "db", since, DB_LINES)
            )
            and any(
                "user=ci_app" in line
                for line in lines_since(stack, "pgbouncer", since, POOLER_LINES)
            )
        ),
        60,
        lambda: (
            "a real login was not logged:\n" + stack.compose("logs", "--no-color", "--since", since)
        ),
    )
