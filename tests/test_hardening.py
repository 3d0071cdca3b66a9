"""Hardening: pg_hba, stored passwords, CIS logging basics, a locked-down runtime."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from fixtures_images import DB_IMAGE
from fixtures_stack import STACK_PASSWORDS
from support.docker import LOCKED_DOWN, Container, run_container


def test_pg_hba_allows_only_scram_or_reject_over_tcp(db: Container) -> None:
    """Every host rule is scram-sha-256 or reject (no trust, no md5, no password), and the
    superuser is rejected over TCP before any rule could let it in."""
    rules = [
        line.split("|")
        for line in db.psql(
            "SELECT type, array_to_string(user_name, ','), auth_method FROM pg_hba_file_rules"
            " WHERE error IS NULL ORDER BY rule_number"
        ).splitlines()
    ]
    host_rules = [r for r in rules if r[0].startswith("host")]
    assert host_rules
    assert {method for _, _, method in host_rules} <= {"scram-sha-256", "reject"}
    assert host_rules[0][1:] == ["postgres", "reject"]
    assert db.psql("SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL") == "0"


def test_every_stored_password_is_a_scram_verifier(db: Container) -> None:
    """No role has an md5 or plain-text password; roles without one cannot log in by password."""
    kinds = db.psql(
        "SELECT DISTINCT coalesce(split_part(rolpassword, '$', 1), 'none') FROM pg_authid"
    ).splitlines()
    assert set(kinds) <= {"SCRAM-SHA-256", "none"}
    assert "SCRAM-SHA-256" in kinds


def test_connection_log_lines_carry_cis_fields(db: Container, settings) -> None:
    """A login and logout are logged with time, pid, database, user, application and client."""
    with psycopg.connect(settings.conninfo("app", application_name="cis-probe")) as conn:
        conn.execute("SELECT 1")
    lines = db.logs().splitlines()
    authorized = [x for x in lines if "connection authorized" in x and "=cis-probe" in x]
    gone = [x for x in lines if "disconnection" in x and "app=cis-probe" in x]
    assert authorized and gone
    prefix = re.compile(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC \[\d+\] db=contextinject,user=ci_app,"
        r"app=cis-probe,client=\d+\.\d+\.\d+\.\d+ LOG:  disconnection"
    )
    assert prefix.match(gone[-1]), gone[-1]


@pytest.fixture
def locked_down(images: dict[str, str]) -> Iterator[Container]:
    """The db image with a read-only root, every capability dropped, no-new-privileges."""
    db = run_container(
        DB_IMAGE,
        env={"POSTGRES_PASSWORD": "pw", "CI_APP_PASSWORD": "app-pw"},
        extra=LOCKED_DOWN,
    )
    yield db
    db.remove()


def test_runs_healthy_and_writable_read_only_without_capabilities(locked_down: Container) -> None:
    """Read-only root, no capabilities, no-new-privileges: healthy, and data can be written."""
    locked_down.wait_healthy()
    config = locked_down.inspect()["HostConfig"]
    assert config["ReadonlyRootfs"] and config["CapDrop"] == ["ALL"]
    assert "no-new-privileges" in config["SecurityOpt"]
    code, _, err = locked_down.exec_result("touch", "/usr/share/ci-db/probe")
    assert code != 0 and "Read-only file system" in err
    port = locked_down.port(5432)
    with psycopg.connect(
        host="127.0.0.1", port=port, dbname="contextinject", user="ci_app", password="app-pw"
    ) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    locked_down.psql("CREATE TABLE public.rw_probe (v int); INSERT INTO public.rw_probe VALUES (7)")
    assert locked_down.psql("SELECT v FROM public.rw_probe") == "7"
    status = locked_down.exec("cat", "/proc/1/status")
    cap_eff = next(line for line in status.splitlines() if line.startswith("CapEff"))
    assert cap_eff.split()[1] == "0000000000000000"


def test_stack_passwords_are_not_the_superuser_over_the_network(settings) -> None:
    """Even with the right password, postgres is refused through PgBouncer too."""
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(
            host=settings.host,
            port=settings.pool_port,
            dbname="contextinject",
            user="postgres",
            password=STACK_PASSWORDS["POSTGRES_PASSWORD"],
            connect_timeout=10,
        )
