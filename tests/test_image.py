"""The built ci-db image: versions, runtime user, stop signal, healthcheck, no baked secrets."""

from __future__ import annotations

import json
import re

import pytest
import testinfra
from fixtures_images import DB_IMAGE, POOLER_IMAGE
from fixtures_stack import STACK_PASSWORDS
from support.docker import Container, docker


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_server_reports_postgresql_17(db: Container) -> None:
    """The running server is PostgreSQL 17.x."""
    assert db.psql("SHOW server_version_num").startswith("17")


def test_pgvector_is_at_least_0_8_2(db: Container) -> None:
    """pgvector >= 0.8.2 (trixie's 0.8.0 carries CVE-2026-3172), and vectors work."""
    version = db.psql("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    assert _version_tuple(version) >= (0, 8, 2)
    assert db.psql("SELECT vector_dims('[1,2,3]'::vector)") == "3"


@pytest.mark.parametrize("extension", ["pg_trgm", "uuid-ossp", "pg_stat_statements"])
def test_contrib_extension_installed(db: Container, extension: str) -> None:
    """The spec's extensions are created in the application database."""
    assert db.psql(f"SELECT count(*) FROM pg_extension WHERE extname = '{extension}'") == "1"


def test_amcheck_is_available(db: Container) -> None:
    """amcheck ships with the image for corruption checks."""
    assert db.psql("SELECT count(*) FROM pg_available_extensions WHERE name = 'amcheck'") == "1"


def test_sqitch_is_1_5_or_newer(db: Container) -> None:
    """Sqitch 1.5+ with its PostgreSQL driver is in the image."""
    out = db.exec("sqitch", "--version")
    assert _version_tuple(out.split("v", 1)[1]) >= (1, 5)
    db.exec("perl", "-MDBD::Pg", "-e", "1")


@pytest.mark.parametrize("image", [DB_IMAGE, POOLER_IMAGE])
def test_image_runs_as_non_root_and_stops_with_sigint(images: dict[str, str], image: str) -> None:
    """Both images declare a non-root user, STOPSIGNAL SIGINT and a HEALTHCHECK."""
    config = json.loads(docker("image", "inspect", image))[0]["Config"]
    assert config["User"] not in ("", "root", "0")
    assert config["StopSignal"] == "SIGINT"
    assert config["Healthcheck"]["Test"][0] in ("CMD", "CMD-SHELL")


def test_server_processes_run_as_postgres(db: Container) -> None:
    """Inside the running container every postgres process belongs to uid 999, not root."""
    host = testinfra.get_host(f"docker://{db.name}")
    # One ps snapshot: testinfra's process objects run ps again per pid and attribute, and a
    # backend that ended in between (a healthcheck's connection) failed that call.
    rows = [line.split(None, 1) for line in host.check_output("ps -e -o user=,comm=").splitlines()]
    users = {user for user, comm in rows if comm == "postgres"}
    assert users, f"no postgres processes found: {rows}"
    assert users == {"postgres"}, rows
    assert host.user().uid == 999


@pytest.mark.parametrize("image", [DB_IMAGE, POOLER_IMAGE])
def test_no_secret_in_image_history_or_env(images: dict[str, str], image: str) -> None:
    """No password or secret appears in the layers' commands or the image's env."""
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", image)
    env = json.loads(docker("image", "inspect", image))[0]["Config"]["Env"] or []
    haystack = (history + "\n".join(env)).lower()
    for secret in STACK_PASSWORDS.values():
        assert secret not in haystack
    assert not [e for e in env if re.match(r"[A-Z_]*(PASSWORD|SECRET|TOKEN)[A-Z_]*=", e)]
    assert "password=" not in history.lower()
