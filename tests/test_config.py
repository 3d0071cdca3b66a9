"""postgresql.conf as the running server reports it, and the documented overrides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fixtures_images import DB_IMAGE
from support.docker import Container, run_container

OUR_CONF = "/etc/postgresql/postgresql.conf"

# Deliberate settings of our file, as SHOW prints them.
EXPECTED = {
    "shared_buffers": "512MB",
    "effective_cache_size": "1536MB",
    "work_mem": "8MB",
    "maintenance_work_mem": "256MB",
    "checkpoint_timeout": "15min",
    "max_wal_size": "2GB",
    "wal_compression": "lz4",
    "jit": "off",
    "max_connections": "100",
    "superuser_reserved_connections": "3",
    "reserved_connections": "7",
    "password_encryption": "scram-sha-256",
    "autovacuum_vacuum_scale_factor": "0.05",
    "autovacuum_vacuum_cost_limit": "2000",
    "log_connections": "on",
    "log_disconnections": "on",
    "log_lock_waits": "on",
    "log_min_duration_statement": "-1",
    "log_min_error_statement": "panic",
    "log_statement": "none",
    "auto_explain.log_min_duration": "250ms",
    "pgaudit.log": "ddl, role",
    "pg_stat_statements.track_utility": "off",
    "max_notify_queue_pages": "4096",
    "log_autovacuum_min_duration": "1s",
    "shared_preload_libraries": "pg_stat_statements,auto_explain,pgaudit,pg_cron",
}


@pytest.mark.parametrize(("name", "value"), sorted(EXPECTED.items()))
def test_setting_comes_from_our_file(db: Container, name: str, value: str) -> None:
    """SHOW reports our value and pg_settings names our file as its source."""
    assert db.psql(f"SHOW {name}") == value
    assert db.psql(f"SELECT sourcefile FROM pg_settings WHERE name = '{name}'") == OUR_CONF


def test_log_line_prefix_names_time_pid_db_user_app_client(db: Container) -> None:
    """Every log line carries time, pid, database, user, application and client."""
    prefix = db.psql("SHOW log_line_prefix")
    for escape in ("%m", "%p", "%d", "%u", "%a", "%h"):
        assert escape in prefix


@pytest.fixture
def container_cleanup() -> Iterator[list[Container]]:
    started: list[Container] = []
    yield started
    for container in started:
        container.remove()


def test_conf_d_include_overrides_our_file(
    images: dict[str, str], tmp_path: Path, container_cleanup: list[Container]
) -> None:
    """A file mounted into /etc/postgresql/conf.d wins over postgresql.conf."""
    override = tmp_path / "conf.d"
    override.mkdir()
    (override / "50-local.conf").write_text("work_mem = '32MB'\nshared_buffers = '256MB'\n")
    override.chmod(0o755)
    (override / "50-local.conf").chmod(0o644)
    db = run_container(
        DB_IMAGE, env={"POSTGRES_PASSWORD": "pw"}, volumes=[f"{override}:/etc/postgresql/conf.d:ro"]
    )
    container_cleanup.append(db)
    db.wait_healthy()
    assert db.psql("SHOW work_mem") == "32MB"
    assert db.psql("SELECT sourcefile FROM pg_settings WHERE name = 'work_mem'") == (
        "/etc/postgresql/conf.d/50-local.conf"
    )
    assert db.psql("SHOW shared_buffers") == "256MB"


def test_memory_env_and_command_line_override(
    images: dict[str, str], container_cleanup: list[Container]
) -> None:
    """CI_DB_MEMORY rescales memory settings; a -c flag in the command wins over both."""
    db = run_container(
        DB_IMAGE,
        env={"POSTGRES_PASSWORD": "pw", "CI_DB_MEMORY": "4GB"},
        command=["postgres", "-c", "work_mem=64MB"],
    )
    container_cleanup.append(db)
    db.wait_healthy()
    assert db.psql("SHOW shared_buffers") == "1GB"
    assert db.psql("SHOW effective_cache_size") == "3GB"
    assert db.psql("SHOW maintenance_work_mem") == "512MB"
    assert db.psql("SHOW work_mem") == "64MB"
