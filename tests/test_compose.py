"""The compose stack: healthy services, loopback-only ports, no superuser over TCP."""

from __future__ import annotations

import json

import psycopg
import pytest
from fixtures_stack import STACK_PASSWORDS, Stack
from support.docker import Container

from cidb.plan import parse_plan
from cidb.settings import Settings


def test_both_services_are_healthy(stack: Stack) -> None:
    """`up -d --wait` leaves db and pgbouncer running and healthy."""
    states = [json.loads(line) for line in stack.compose("ps", "--format", "json").splitlines()]
    health = {s["Service"]: s["Health"] for s in states}
    assert health == {"db": "healthy", "pgbouncer": "healthy"}


@pytest.mark.parametrize("service", ["db", "pgbouncer"])
def test_ports_are_published_on_loopback_only(stack: Stack, service: str) -> None:
    """Every published port binds 127.0.0.1, never 0.0.0.0."""
    bindings = stack.container(service).inspect()["NetworkSettings"]["Ports"]
    host_ips = {b["HostIp"] for spec in bindings.values() if spec for b in spec}
    assert host_ips == {"127.0.0.1"}


def test_superuser_over_tcp_from_host_is_refused(settings: Settings) -> None:
    """The postgres superuser cannot log in over TCP, even with the right password."""
    with pytest.raises(psycopg.OperationalError, match=r"pg_hba\.conf rejects"):
        psycopg.connect(
            host=settings.host,
            port=settings.port,
            dbname="contextinject",
            user="postgres",
            password=STACK_PASSWORDS["POSTGRES_PASSWORD"],
            connect_timeout=10,
        )


def test_superuser_over_socket_inside_container_works(db: Container) -> None:
    """Inside the container, the superuser reaches the server over its socket."""
    assert (
        db.psql("SELECT current_user || ':' || rolsuper FROM pg_roles WHERE rolname = current_user")
        == "postgres:true"
    )


def test_app_role_logs_in_directly_and_through_pgbouncer(connect) -> None:
    """ci_app reaches the database on both published ports; PgBouncer forwards to db."""
    for pooled in (False, True):
        with connect("app", pooled=pooled) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("ci_app",)


def test_schema_is_deployed_when_up_returns(db: Container) -> None:
    """When the stack is healthy the Sqitch plan's last change is deployed, every version of it
    (a reworked change has a registry row per plan line)."""
    plan = parse_plan(db.exec("cat", "/usr/share/ci-db/sqitch/sqitch.plan"))
    last = plan.last.name
    versions = plan.names.count(last)
    assert db.psql(f"SELECT count(*) FROM sqitch.changes WHERE change = '{last}'") == str(versions)
